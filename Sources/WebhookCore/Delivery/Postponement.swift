/// The endpoint gate's verdict "not now" for one attempt: an input to the ledger
/// (`DeliveryLedger.postpone`), as `now` and the random generator are. The gate (WebhookWorker's
/// `EndpointGuard`) reads the fleet's breakers and rate limits in Redis; what a verdict does to
/// a delivery (its hold, its slot, a dead letter past WEBHOOK_BREAKER_MAX_HOLD, its log record)
/// is the ledger's rule.
public struct Postponement: Sendable {
    /// Why the gate said "not now". Typed, so nobody reads the text to tell verdicts apart.
    public enum Reason: Sendable, Equatable, CustomStringConvertible {
        /// An operator paused the endpoint (`endpoints pause`).
        case paused(endpoint: String)
        /// Its circuit breaker is open (one probe per interval goes; the rest wait).
        case open(endpoint: String)
        /// Its rate limit has no slot now (a slot may be reserved: see `slot`).
        case rateLimited(endpoint: String, rate: RateLimit)
        /// Its rate limit could not be read (Redis did not answer): a rate limit fails closed.
        case limitsUnavailable(endpoint: String, error: String)
        /// The worker stops while the attempt waited in memory for its slot.
        case shutdown

        public var description: String {
            switch self {
            case .paused(let endpoint): return "endpoint \(endpoint) is paused"
            case .open(let endpoint): return "endpoint \(endpoint) is open (circuit breaker)"
            case .rateLimited(let endpoint, let rate): return "endpoint \(endpoint) is at its rate limit (\(rate))"
            case .limitsUnavailable(let endpoint, let error): return "rate limit of endpoint \(endpoint) unavailable: \(error)"
            case .shutdown: return "handed back at shutdown before its rate-limit slot"
            }
        }
    }

    public let attempt: DeliveryLedger.Attempt
    /// Seconds until it is due again.
    public let after: Double
    /// The rate-limit slot reserved for it (Redis's clock, Unix seconds), or 0: the delivery is
    /// then sent at that slot without asking the limiter again.
    public let slot: Double
    public let reason: Reason

    public init(_ attempt: DeliveryLedger.Attempt, after: Double, slot: Double = 0, reason: Reason) {
        self.attempt = attempt
        self.after = after
        self.slot = slot
        self.reason = reason
    }
}
