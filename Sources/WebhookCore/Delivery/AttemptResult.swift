/// The outcome of one HTTP attempt, as the retry arithmetic needs it.
public enum AttemptResult: Sendable, Equatable {
    /// The endpoint answered. `retryAfter` is the Retry-After header in seconds, `body` the
    /// start of the response body (Discord puts `retry_after` there).
    case status(Int, retryAfter: Double?, body: [UInt8])
    /// No answer: the class says why (what the log, spans and breaker read); the text is for
    /// dead letters and logs.
    case transportError(FailureClass, String)
    /// The attempt was abandoned because the worker is stopping; it does not count.
    case cancelled
    /// The attempt was taken back before it reached the wire because its target lags (see
    /// `DeliveryLedger.laggards(now:)`); it does not count.
    case withdrawn

    /// The attempt log's and the spans' error class: `status` for a non-2xx answer, the
    /// `FailureClass` for no answer, `cancelled` / `withdrawn` for what was not an attempt
    /// (spans only: the log never records those); nil for a 2xx.
    public var errorClass: String? {
        switch self {
        case .status(let code, _, _): return (200..<300).contains(code) ? nil : "status"
        case .transportError(let failure, _): return failure.rawValue
        case .cancelled: return "cancelled"
        case .withdrawn: return "withdrawn"
        }
    }
}
