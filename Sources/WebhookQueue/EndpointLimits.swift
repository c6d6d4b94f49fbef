import WebhookCore

/// The fleet-wide limits in front of each endpoint, as the worker's `EndpointGuard` uses them: the
/// rate limit's slots and the circuit breaker. `EndpointState` (WebhookRedis) keeps them in Redis
/// for the whole fleet; `MemoryEndpointLimits` keeps the same rules in process memory, so a
/// runtime on the memory driver runs with its breakers and rate limits on, not off.
/// `EndpointLimitsContractTests` runs both through the same cases.
///
/// Pausing, resuming and reading an endpoint's state (`endpoints`, the dashboard) are the
/// Redis module's own (`EndpointState`); a driver does not have to offer them.
///
/// Not thread-safe: one instance per thread (the dispatcher's), like a `DeliveryQueue`.
public protocol EndpointLimits: AnyObject {
    /// The limits' clock minus this process's, in seconds, from the last answer that carried it
    /// (`reserve`, `gate`); nil before the first. Errs on the early side, so a time computed with
    /// it is never ahead of the limits' clock.
    var clockOffset: Double? { get }

    /// Reserves one slot per entry of `heldSince` under `rate`, in one step for the whole
    /// fleet: slots are `rate.interval` apart (GCRA, no burst), each at the next free one. An
    /// entry whose slot would hold it more than `maxHold` seconds since it was first held gets
    /// none (and takes none from the others).
    /// - Parameter heldSince: per request, since when it has been held (the limits' clock, Unix
    ///   seconds), or 0 when it has not been.
    func reserve(_ scope: RateScope, rate: RateLimit, maxHold: Double, heldSince: [Double]) throws(QueueError) -> RateReservation

    /// Whether the next delivery to `endpoint` may go: closed, paused, this caller's probe, or
    /// hold. Of all callers during one `probeInterval`, exactly one gets `.probe`; the first
    /// probe comes one interval after the breaker opened.
    /// - Parameter token: who probes (the worker ID).
    func gate(endpoint: String, probeInterval: Double, token: String) throws(QueueError) -> BreakerGate

    /// Records delivery outcomes for `endpoint`: `failuresSinceSuccess` (the failures after the
    /// batch's last success; all of them when there was none) add to the consecutive count, a
    /// success resets it to them. The breaker opens when the count reaches `threshold`, and
    /// closes on a success that leaves it below. Exactly one recorder sees each transition.
    func record(endpoint: String, successes: Int, failures: Int, failuresSinceSuccess: Int?,
                lastError: String?, threshold: Int, probeInterval: Double) throws(QueueError) -> BreakerRecord
}
