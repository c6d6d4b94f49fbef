/// The Redis key names, all under one prefix (`REDIS_KEY_PREFIX`). The only place that spells
/// them; docs/ARCHITECTURE.md describes what each holds. With a hash tag in the prefix
/// (`{webhooks}`) they all share one Redis Cluster slot.
struct RedisKeys: Sendable {
    let prefix: String

    /// List: producers LPUSH on the left, workers take from the right.
    var queue: String { "\(prefix):queue" }
    /// Sorted set: deliveries waiting for a retry, scored by due time (Redis's Unix seconds).
    var delayed: String { "\(prefix):delayed" }
    /// List: dead letters (JSON objects), newest on the left.
    var dead: String { "\(prefix):dead" }
    /// Sorted set: worker IDs scored by their last heartbeat (Redis's Unix milliseconds).
    var workers: String { "\(prefix):workers" }
    /// Set: worker IDs that have taken work; the sweep compares it with `workers` to find
    /// processing lists that belong to no registered worker.
    var holders: String { "\(prefix):holders" }

    /// List: the attempt log, `AttemptRecord.stored()` entries, newest on the left; capped by
    /// WEBHOOK_LOG_MAX (and WEBHOOK_LOG_MAX_AGE) with every write.
    var log: String { "\(prefix):log" }

    /// List: what one worker has taken and not yet settled.
    func processing(_ workerID: String) -> String { "\(prefix):processing:\(workerID)" }
    /// String: marks one bridge POST as written, for a short time, so that a retried write of
    /// that POST (its first reply lost) writes nothing twice.
    func ingest(_ id: String) -> String { "\(prefix):ingest:\(id)" }
    /// String: SHA-1 of the suspect item a worker is admitting (see `WEBHOOK_MAX_CRASHES`).
    func admitting(_ workerID: String) -> String { "\(prefix):admitting:\(workerID)" }
}
