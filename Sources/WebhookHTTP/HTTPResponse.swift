/// The outcome of one `HTTPRequest`.
public struct HTTPResponse: Sendable {
    /// The request's token.
    public var token: UInt64
    /// The HTTP status; 0 when no complete answer arrived (`error` then says why).
    public var status: Int
    /// Why the request failed at the transport level (connect, timeout, TLS, ...); nil on an answer.
    public var error: String?
    /// True when `cancelAll()` or `shutdown()` ended the request before it finished.
    public var cancelled: Bool
    /// The answer's `Retry-After` in seconds (fractional values kept), nil when absent.
    public var retryAfter: Double?
    /// The first 64 KiB of the answer's body.
    public var body: [UInt8]
    /// Seconds from the start of the transfer to its end (0 for requests that never started).
    public var duration: Double

    public init(
        token: UInt64, status: Int, error: String? = nil, cancelled: Bool = false,
        retryAfter: Double? = nil, body: [UInt8] = [], duration: Double = 0
    ) {
        self.token = token
        self.status = status
        self.error = error
        self.cancelled = cancelled
        self.retryAfter = retryAfter
        self.body = body
        self.duration = duration
    }

    /// The response of a request that ended before it finished.
    static func cancelled(_ token: UInt64, reason: String = "cancelled") -> HTTPResponse {
        HTTPResponse(token: token, status: 0, error: reason, cancelled: true)
    }
}
