/// The Redis keys of one ordered endpoint (see docs/ARCHITECTURE.md, "Ordered delivery"), all
/// under the queue's prefix: a hash-tagged prefix keeps them in the queue's Cluster slot. A
/// fixed handful per endpoint, whatever the number of keys (users): scripts get them in KEYS.
struct OrderedKeys: Sendable {
    let base: String

    init(prefix: String, targetID: String) {
        base = "\(prefix):ordered:\(targetID)"
    }

    /// Sorted set, every score 0: the pending deliveries of every key, as members
    /// `<key> NUL <16-digit sequence> NUL <item>`, so a key's are contiguous and in enqueue order.
    var pending: String { "\(base):pending" }
    /// Sorted set: keys whose head may be claimed, scored by when (milliseconds of Redis time).
    var ready: String { "\(base):ready" }
    /// Sorted set: claimed keys, scored by when their lease expires (milliseconds of Redis time).
    var leases: String { "\(base):leases" }
    /// Hash: claimed key -> the claim's token (the fence of its settle).
    var holders: String { "\(base):holders" }
    /// Sorted set: keys whose head has failed, scored by its first failure (ms of Redis time).
    var blocked: String { "\(base):blocked" }
    /// String: the sequence counter that orders the pending members.
    var sequence: String { "\(base):seq" }
}
