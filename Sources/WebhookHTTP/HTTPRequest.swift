/// One POST for `HTTPClient` to send.
public struct HTTPRequest: Sendable {
    /// The caller's identifier, echoed in the matching `HTTPResponse`.
    public var token: UInt64
    /// An absolute `http://` or `https://` URL.
    public var url: String
    /// Request headers as complete lines, `"Name: value"`.
    public var headers: [String]
    /// The exact bytes to POST.
    public var body: [UInt8]
    /// The scheduling lane (the endpoint's index): at most `maxPerLane` requests of one lane run at
    /// once, so a hung endpoint cannot take every connection.
    public var lane: Int
    /// Whole-request timeout in seconds (connect + send + answer); 0 or less means none.
    public var timeout: Double

    public init(token: UInt64, url: String, headers: [String], body: [UInt8], lane: Int, timeout: Double) {
        self.token = token
        self.url = url
        self.headers = headers
        self.body = body
        self.lane = lane
        self.timeout = timeout
    }
}
