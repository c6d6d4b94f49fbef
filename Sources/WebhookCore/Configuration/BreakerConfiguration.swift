/// The circuit breaker in front of every endpoint, shared by the fleet through Redis: after
/// `failures` failed deliveries in a row an endpoint is open, and gets one probe per
/// `probeInterval` for the whole fleet until one succeeds.
public struct BreakerConfiguration: Sendable {
    /// WEBHOOK_BREAKER_FAILURES: consecutive failures that open an endpoint's circuit (20).
    public var failures: Int
    /// WEBHOOK_BREAKER_PROBE: seconds between probes of an open endpoint (30).
    public var probeInterval: Double
    /// WEBHOOK_BREAKER_MAX_HOLD: seconds a delivery may be held by an open or paused endpoint
    /// before it becomes a dead letter (72 h), so an endpoint that never comes back does not keep
    /// its deliveries forever.
    public var maxHold: Double

    static func load(_ reader: ConfigurationReader) throws(ConfigurationError) -> BreakerConfiguration {
        BreakerConfiguration(
            failures: try reader.integer("WEBHOOK_BREAKER_FAILURES", default: 20, range: 1...1_000_000),
            probeInterval: try reader.seconds("WEBHOOK_BREAKER_PROBE", default: 30),
            maxHold: try reader.seconds("WEBHOOK_BREAKER_MAX_HOLD", default: 72 * 3600))
    }
}
