/// What became of one attempt, as the attempt log records it.
///
/// Raw values are what `--json`, the dashboard and `--outcome` show (the contract's spelling,
/// `rate_limited`); the CLI also accepts `rate-limited`.
public enum AttemptOutcome: String, Sendable, Equatable, CaseIterable {
    /// The endpoint answered 2xx.
    case delivered
    /// It failed and another try is scheduled.
    case retry
    /// It failed for good (or could not be sent at all): now a dead letter.
    case dead
    /// The endpoint said "too many requests" (429 with a wait): waiting without counting a try.
    case rateLimited = "rate_limited"
    /// Not sent now: this product's own rate limit, an open or paused circuit breaker, or the
    /// endpoint lagging behind the others; back to the delayed set without a try.
    case held

    /// Parses an option value: the raw value, or `rate-limited`.
    public init?(argument: String) {
        let text = argument.lowercased()
        if text == "rate-limited" || text == "ratelimited" { self = .rateLimited; return }
        self.init(rawValue: text)
    }
}
