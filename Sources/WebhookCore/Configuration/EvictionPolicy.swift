/// What Redis's `maxmemory-policy` means for the queue. Checked by the bridge and by a worker's
/// health probe at start and periodically: a policy that evicts can drop queued events
/// silently, while every write still succeeds.
public enum EvictionPolicy: Equatable, Sendable {
    /// `noeviction`: at `maxmemory` writes fail (OOM), which the bridge answers 503 and workers
    /// wait out; nothing is dropped.
    case safe
    /// `volatile-*`: only keys with an expiry are evicted. The queue, delayed set, processing
    /// lists and dead letters have none, so no event is lost; short-lived guards may go
    /// (rate-limit state, the bridge's ingest markers, probe keys). Accepted, with a warning.
    case evictsExpiringKeys
    /// `allkeys-*`, or a policy this program does not know: queued events can be evicted.
    /// `/readyz` fails and an error is logged.
    case evictsQueue

    public init(policy: String) {
        let name = policy.lowercased()
        if name == "noeviction" {
            self = .safe
        } else if name.hasPrefix("volatile-") {
            self = .evictsExpiringKeys
        } else {
            self = .evictsQueue
        }
    }

    /// The readiness problem for `policy` (nil unless it can evict the queue), naming the setting
    /// and the value to set.
    public static func readinessProblem(_ policy: String) -> String? {
        guard EvictionPolicy(policy: policy) == .evictsQueue else { return nil }
        return "redis maxmemory-policy is \(policy), which can evict queued events; set maxmemory-policy noeviction"
    }
}
