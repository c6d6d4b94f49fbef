/// The outcome of one `HTTPRequest`.
public struct HTTPResponse: Sendable {
    /// The request's token.
    public var token: UInt64
    /// The HTTP status; 0 when no complete answer arrived (`error` then says why). Once a
    /// complete status line and headers arrived the status stands, even when the body was then
    /// cut short (slow, stalled or over the size cap): the receiver has answered.
    public var status: Int
    /// Why the request failed at the transport level, as text for logs; nil on an answer.
    public var error: String?
    /// The same failure as a value to match on; nil on an answer.
    public var failure: HTTPFailure?
    /// True when `cancelAll()` or `shutdown()` ended the request before it finished.
    public var cancelled: Bool
    /// The answer's `Retry-After` in seconds (fractional values kept), nil when absent.
    public var retryAfter: Double?
    /// The first 64 KiB of the answer's body (what arrived within the body's time window).
    public var body: [UInt8]
    /// True when the body was not read to its end: over the size cap, slower than the body's
    /// time window, or the connection failed after the headers.
    public var bodyCut: Bool
    /// Seconds from the start of the transfer to its end (0 for requests that never started).
    public var duration: Double
    /// The request this answers, handed back once the transfer is over (nil for requests that
    /// never started). Why: the request's memory should be freed by the thread that built it.
    /// glibc's malloc frees a block from another thread under the lock of the arena it came
    /// from, so a request dropped on the HTTP thread made it wait for the submitting thread's
    /// own allocations; under load those waits were most of the worker's futex calls. A body
    /// over 16 KiB is not held that long: the request then comes back with an empty body.
    public var request: HTTPRequest?

    public init(
        token: UInt64, status: Int, error: String? = nil, cancelled: Bool = false,
        retryAfter: Double? = nil, body: [UInt8] = [], duration: Double = 0,
        failure: HTTPFailure? = nil, bodyCut: Bool = false
    ) {
        self.token = token
        self.status = status
        self.error = error
        self.failure = failure ?? (cancelled ? .cancelled : error.map { .notStarted($0) })
        self.cancelled = cancelled
        self.retryAfter = retryAfter
        self.body = body
        self.bodyCut = bodyCut
        self.duration = duration
    }

    /// The response of a request that ended before it finished.
    static func cancelled(_ token: UInt64, reason: String = "cancelled") -> HTTPResponse {
        HTTPResponse(token: token, status: 0, error: reason, cancelled: true, failure: .cancelled)
    }

    /// The response of a request taken back before it started (`withdrawWaiting(lanes:)`):
    /// `cancelled` too, so callers that only know cancellation still never count it as an attempt.
    static func withdrawn(_ token: UInt64) -> HTTPResponse {
        HTTPResponse(token: token, status: 0, error: "withdrawn before it started", cancelled: true, failure: .withdrawn)
    }

    /// The response of a request the client could not start.
    static func notStarted(_ token: UInt64, _ reason: String) -> HTTPResponse {
        HTTPResponse(token: token, status: 0, error: reason, failure: .notStarted(reason))
    }
}
