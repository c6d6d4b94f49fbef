/// The outcome of one HTTP attempt, as the retry arithmetic needs it.
public enum AttemptResult: Sendable, Equatable {
    /// The endpoint answered. `retryAfter` is the Retry-After header in seconds, `body` the
    /// start of the response body (Discord puts `retry_after` there).
    case status(Int, retryAfter: Double?, body: [UInt8])
    /// No answer: connection refused, timeout, TLS failure... (the text says which).
    case transportError(String)
    /// The attempt was abandoned because the worker is stopping; it does not count.
    case cancelled
    /// The attempt was taken back before it reached the wire because its target lags (see
    /// `DeliveryLedger.laggards(now:)`); it does not count.
    case withdrawn
}
