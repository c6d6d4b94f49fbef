import WebhookCore

/// The Redis keys of per-endpoint state, all under the queue's prefix so a hash-tagged prefix
/// (`{webhooks}`) keeps them in the queue's Redis Cluster slot. Scripts get them in KEYS.
struct EndpointKeys: Sendable {
    let prefix: String

    /// String: the GCRA's theoretical arrival time (microseconds of Redis time); expires when idle.
    func rate(_ endpoint: String) -> String { "\(prefix):rate:\(endpoint)" }
    /// The same, for a rate scope: a webhook endpoint's by name (`rate:<name>`), a Discord
    /// webhook's or Telegram chat's by a digest of the destination (`rate-dest:<hex>`).
    func rate(_ scope: RateScope) -> String {
        switch scope {
        case .endpoint(let name): return rate(name)
        case .destination(let digest): return "\(prefix):rate-dest:\(digest)"
        }
    }
    /// Hash: the circuit breaker: `failures` (consecutive), `opened_at`, `paused`, `paused_at`,
    /// `last_error`, `last_error_at`, `last_success_at` (milliseconds of Redis time).
    func breaker(_ endpoint: String) -> String { "\(prefix):breaker:\(endpoint)" }
    /// String with a TTL: the probe slot of an open breaker; whoever sets it sends the probe.
    func probe(_ endpoint: String) -> String { "\(prefix):probe:\(endpoint)" }
    /// Hash: successes (`s:<minute>`) and failures (`f:<minute>`) per minute of Redis time, for
    /// the last hour.
    func stats(_ endpoint: String) -> String { "\(prefix):stats:\(endpoint)" }
}
