/// The Redis key names, all under one prefix (`REDIS_KEY_PREFIX`). The only place that spells
/// them; docs/ARCHITECTURE.md describes what each holds.
struct RedisKeys: Sendable {
    let prefix: String

    /// List: producers LPUSH on the left, workers take from the right.
    var queue: String { "\(prefix):queue" }
    /// Sorted set: deliveries waiting for a retry, scored by due time (Unix seconds).
    var delayed: String { "\(prefix):delayed" }
    /// List: dead letters (JSON objects), newest on the left.
    var dead: String { "\(prefix):dead" }
    /// Sorted set: worker IDs scored by their last heartbeat (Unix milliseconds).
    var workers: String { "\(prefix):workers" }
    /// The prefix of every processing list; the reap script appends worker IDs to it.
    var processingPrefix: String { "\(prefix):processing:" }

    /// List: what one worker has taken and not yet settled.
    func processing(_ workerID: String) -> String { processingPrefix + workerID }
}
