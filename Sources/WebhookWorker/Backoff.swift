/// Capped exponential backoff with jitter, for reconnecting to Redis.
///
/// Every thread that talks to Redis keeps one: a failure waits `next()`, a success calls
/// `reset()`. The cap keeps an outage from turning into a tight loop or an ever-longer wait.
struct Backoff {
    var initial: Double = 0.1
    var cap: Double = 5
    private(set) var failures = 0

    /// The delay before the next attempt, in seconds: initial · 2ⁿ, capped, with ±25 % jitter so a
    /// fleet of workers does not reconnect in lock step.
    mutating func next() -> Double {
        let base = min(cap, initial * Double(1 << min(failures, 20)))
        failures += 1
        return base * Double.random(in: 0.75...1.25)
    }

    mutating func reset() { failures = 0 }
}
