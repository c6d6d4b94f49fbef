/// What to do with a delivery after an attempt.
public enum RetryDecision: Sendable, Equatable {
    /// A 2xx answer: done.
    case delivered
    /// Try again `after` seconds from now, with `tries` failed attempts counted.
    case retry(after: Double, tries: Int)
    /// The receiver asked to slow down (a rate limit): try again `after` seconds from now
    /// without counting a failed attempt.
    case rateLimited(after: Double)
    /// Give up: the delivery becomes a dead letter with this reason.
    case dead(reason: String)
}
