/// The outcome of one `HTTPRequest`.
///
/// One stored outcome (`outcome`): either the endpoint answered, or the request failed for one
/// typed reason. Why one field: a status, an error text, a typed failure and a cancelled flag
/// could disagree (a status with an error, a cancellation with a status), and every caller
/// re-derived what happened in its own way.
public struct HTTPResponse: Sendable {
    /// What became of a request.
    public enum Outcome: Sendable, Equatable, CustomStringConvertible {
        /// A complete status line and headers arrived. The status stands even when the body was
        /// then cut short (slow, stalled or over the size cap): the receiver has answered.
        case answered(status: Int)
        /// No complete answer arrived. `detail` is libcurl's text (or the client's) for logs;
        /// match on the failure, never on the text.
        case failed(HTTPFailure, detail: String)

        public var description: String {
            switch self {
            case .answered(let status): return "HTTP \(status)"
            case .failed(let failure, let detail): return detail.isEmpty ? failure.description : "\(failure): \(detail)"
            }
        }
    }

    /// The request's token.
    public var token: UInt64
    /// What became of the request.
    public var outcome: Outcome
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
    /// Whether the request started (it has a duration or came back): a request that never
    /// started has no latency. A flag, because testing `request` for nil copied the request out.
    public var started = false

    public init(token: UInt64, outcome: Outcome, retryAfter: Double? = nil, body: [UInt8] = [], duration: Double = 0,
                bodyCut: Bool = false) {
        self.token = token
        self.outcome = outcome
        self.retryAfter = retryAfter
        self.body = body
        self.bodyCut = bodyCut
        self.duration = duration
        self.started = duration != 0
    }

    /// The status when the endpoint answered; 0 when it did not. A convenience for callers that
    /// only ask "was it a 2xx" (the OTLP exporter, tests); the outcome is the truth.
    public var status: Int {
        if case .answered(let status) = outcome { return status }
        return 0
    }

    /// The failure when no answer came; nil on an answer.
    public var failure: HTTPFailure? {
        if case .failed(let failure, _) = outcome { return failure }
        return nil
    }

    /// The response of a request that ended before it finished (`cancelAll()`, `shutdown()`,
    /// an ordered request too late for its lease).
    static func cancelled(_ token: UInt64, reason: String = "") -> HTTPResponse {
        HTTPResponse(token: token, outcome: .failed(.cancelled, detail: reason))
    }

    /// The response of a request taken back before it started (`withdrawWaiting(lanes:)`).
    static func withdrawn(_ token: UInt64) -> HTTPResponse {
        HTTPResponse(token: token, outcome: .failed(.withdrawn, detail: ""))
    }

    /// The response of a request the client could not start.
    static func notStarted(_ token: UInt64, _ reason: String) -> HTTPResponse {
        HTTPResponse(token: token, outcome: .failed(.notStarted, detail: reason))
    }
}
