/// One endpoint's outcomes per minute over the last hour, from the counts its breaker keeps
/// (`<prefix>:stats:<endpoint>`): what the dashboard draws its charts from. Bounded by
/// construction (at most about 130 fields per endpoint), so reading it never scans the attempt
/// log.
public struct EndpointHistory: Sendable, Equatable {
    /// Successes and failures per minute, oldest first: `successes[59]` is the current minute.
    public var successes: [Int]
    public var failures: [Int]
    /// Redis's clock when read, Unix seconds.
    public var now: Double

    /// Sixty empty minutes ending at `now`.
    public init(now: Double) {
        self.successes = Array(repeating: 0, count: 60)
        self.failures = Array(repeating: 0, count: 60)
        self.now = now
    }

    /// Fills the minutes from the stats hash's fields (`s:<minute>`, `f:<minute>`, minutes since
    /// the epoch); fields outside the last hour, or unreadable, are ignored.
    public init(fields: [(String, Int)], now: Double) {
        self.init(now: now)
        let current = Int(now / 60)
        for (field, count) in fields {
            guard field.count > 2, let minute = Int(field.dropFirst(2)) else { continue }
            let slot = 59 - (current - minute)
            guard (0..<60).contains(slot) else { continue }
            if field.hasPrefix("s:") { successes[slot] += count } else if field.hasPrefix("f:") { failures[slot] += count }
        }
    }
}
