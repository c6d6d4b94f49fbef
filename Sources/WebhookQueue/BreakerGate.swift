/// What the circuit breaker lets a worker do with an endpoint's next delivery.
public enum BreakerGate: Sendable, Equatable {
    /// Closed: deliver as usual.
    case closed
    /// Open, and this caller holds this interval's probe slot: send exactly one delivery, then
    /// `record` its outcome (a success closes the breaker).
    case probe
    /// Open and another worker probes (or the interval has not passed): hold deliveries without
    /// spending tries; ask again after this many seconds.
    case hold(Double)
    /// Paused by an operator (`endpoints pause`): hold deliveries until resumed.
    case paused
}
