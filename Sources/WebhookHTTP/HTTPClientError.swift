import CCurl

/// A libcurl call failed outside any single request (set-up of the multi handle).
public struct HTTPClientError: Error, CustomStringConvertible, Sendable {
    /// The failing libcurl call, e.g. `curl_multi_init`.
    public let call: String
    public let message: String

    public init(call: String, message: String) {
        self.call = call
        self.message = message
    }

    init(call: String, code: CURLMcode) {
        self.init(call: call, message: String(cString: curl_multi_strerror(code)))
    }

    public var description: String { "\(call) failed: \(message)" }
}
