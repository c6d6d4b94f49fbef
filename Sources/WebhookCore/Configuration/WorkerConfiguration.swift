/// One worker process (`webhook-worker run`): how much it takes and holds, how it proves it is
/// alive, how it stops, and what it refuses. Every worker of a fleet shares `itemKeyMaterial`,
/// and should share the lease and the caps; `id` is each worker's own.
public struct WorkerConfiguration: Sendable {
    /// WEBHOOK_WORKER_ID: the worker's name in `status` and in its processing key (default:
    /// generated when the worker starts, host-pid-random).
    public var id: String?
    /// JOB_SEND_NOTIFICATIONS_INTERVAL: seconds between polls of the delayed set (30).
    public var pollInterval: Double
    /// WEBHOOK_MAX_INFLIGHT: events held by a worker at once (`defaultMaxInflightEvents`).
    public var maxInflightEvents: Int
    /// 512. It was 1024; at 512 a worker at full speed spends about 0.95x the CPU per delivery
    /// for the same instructions (docs/PERFORMANCE.md, "a room of 512"): every held event is
    /// also a request waiting on the HTTP thread and state in the ledger, and with twice as many
    /// held each is touched again twice as late, more often out of cache. 512 is still eight
    /// times the default concurrency (64), so the HTTP thread always has requests waiting.
    public static let defaultMaxInflightEvents = 512
    /// WEBHOOK_MAX_INFLIGHT_BYTES: bytes a worker holds at once, counting each taken item plus
    /// about one request body per target (64 MiB).
    public var maxInflightBytes: Int
    /// WEBHOOK_BATCH_SIZE: events taken per round trip (256; never above `maxInflightEvents`).
    public var batchSize: Int
    /// WEBHOOK_MAX_CRASHES: an item whose holding worker died this many times becomes a dead
    /// letter instead of being handed to the next worker (3), so one poisonous event cannot take
    /// down the whole fleet in turn.
    public var maxCrashes: Int
    /// WEBHOOK_DEAD_MAX: the dead list keeps at most this many entries, dropping the oldest with a
    /// warning and a metric (100000; 0 = no cap).
    public var deadMax: Int
    /// WEBHOOK_LEASE: seconds without heartbeat before a worker's items are reaped (default
    /// max(30, 3 × WEBHOOK_TIMEOUT); must exceed WEBHOOK_TIMEOUT + 1, or a worker waiting on a
    /// slow request would be presumed dead). The bridge and `status` read it too, to count live
    /// workers.
    public var lease: Double
    /// WEBHOOK_SHUTDOWN_GRACE: seconds to finish in-flight work on SIGTERM (8). The stop then
    /// hands back the rest within `WorkerConfiguration.handBackBound` more, whatever Redis does,
    /// so the process is gone within grace + 1.5 s: keep that below the orchestrator's own grace
    /// before SIGKILL (Docker's 10 s by default, the Kubernetes kit's 30 s).
    public var shutdownGrace: Double
    /// WEBHOOK_LIVENESS_BOUND: seconds a worker loop may go without progress before `/livez`
    /// reports it stalled (default: 60, or 2 × WEBHOOK_TIMEOUT + 40, or WEBHOOK_LEASE / 3 + 40,
    /// whichever is largest). A loop that waits on purpose (a closed take gate, a backoff, an
    /// idle queue) keeps beating; only a Redis call or a request that does not return within its
    /// own timeout counts against the bound, so it must exceed those (10 s per Redis reply).
    public var livenessBound: Double
    /// Seconds a stop may take beyond WEBHOOK_SHUTDOWN_GRACE to hand back what is left: past
    /// it the worker exits anyway (a hung Redis), and what it still holds returns to the queue
    /// when its lease expires.
    public static let handBackBound: Double = 1.5
    /// WEBHOOK_MAX_PAYLOAD_BYTES: larger events become dead letters (1048576). The bridge refuses
    /// larger bodies with the same cap.
    public var maxPayloadBytes: Int
    /// The key that authenticates internal queue items: WEBHOOK_ITEM_KEY, else derived from
    /// WEBHOOK_SECRET (else a public fallback, with a warning). Every worker of a fleet needs the
    /// same one.
    public var itemKeyMaterial: [UInt8]
    /// WEBHOOK_METRICS_LISTEN: where the worker serves /metrics and the health checks (default:
    /// off). The bridge serves its own on INGEST_LISTEN.
    public var metricsListen: HostPort?
    /// The most settlements one settle script call writes (500; not a variable). Why a cap: a
    /// script blocks Redis while it runs, so a worker catching up after an outage writes its
    /// backlog in bounded calls instead of one that stalls every other client.
    public var settleMaxCount = 500
    /// The most bytes (items, dead letters, log records) one settle script call carries (8 MiB;
    /// not a variable): the same bound by size, well under Redis's 512 MB argument limit and
    /// small enough that one call stays a few milliseconds.
    public var settleMaxBytes = 8 << 20

    /// - Parameters:
    ///   - timeout: WEBHOOK_TIMEOUT, which sets the lease's default and lower bound.
    ///   - secret: WEBHOOK_SECRET, the item key's fallback.
    static func load(_ reader: ConfigurationReader, timeout: Double, secret: String?,
                     warnings: inout [String]) throws(ConfigurationError) -> WorkerConfiguration {
        let maxInflight = try reader.integer("WEBHOOK_MAX_INFLIGHT", default: defaultMaxInflightEvents, range: 1...10_000_000)
        var batchSize = try reader.integer("WEBHOOK_BATCH_SIZE", default: 256, range: 1...100_000)
        if batchSize > maxInflight {
            warnings.append("WEBHOOK_BATCH_SIZE=\(batchSize) exceeds WEBHOOK_MAX_INFLIGHT=\(maxInflight); using \(maxInflight)")
            batchSize = maxInflight
        }
        let maxInflightBytes = try reader.integer("WEBHOOK_MAX_INFLIGHT_BYTES", default: 64 << 20,
                                                  range: (1 << 16)...(1 << 40))
        let itemKey = try itemKeyMaterial(reader, secret: secret, warnings: &warnings)

        let lease = try reader.seconds("WEBHOOK_LEASE", default: max(30, 3 * timeout))
        guard lease > timeout + 1 else {
            throw ConfigurationError(variable: "WEBHOOK_LEASE",
                                     message: "must exceed WEBHOOK_TIMEOUT + 1 s (\(timeout + 1)), got '\(reader.string("WEBHOOK_LEASE") ?? "")'")
        }
        // No upper limit: the stop is bounded by grace + handBackBound whatever Redis does, and
        // only the operator knows the orchestrator's grace (Docker 10 s, the kit's pods 30 s).
        let grace = try reader.seconds("WEBHOOK_SHUTDOWN_GRACE", default: 8, allowZero: true)
        let livenessBound = try reader.seconds("WEBHOOK_LIVENESS_BOUND", default: max(60, 2 * timeout + 40, lease / 3 + 40))

        return WorkerConfiguration(
            id: try reader.name("WEBHOOK_WORKER_ID"),
            pollInterval: try reader.seconds("JOB_SEND_NOTIFICATIONS_INTERVAL", default: 30),
            maxInflightEvents: maxInflight,
            maxInflightBytes: maxInflightBytes,
            batchSize: batchSize,
            maxCrashes: try reader.integer("WEBHOOK_MAX_CRASHES", default: 3, range: 1...1000),
            deadMax: try reader.integer("WEBHOOK_DEAD_MAX", default: 100_000, range: 0...1_000_000_000),
            lease: lease,
            shutdownGrace: grace,
            livenessBound: livenessBound,
            maxPayloadBytes: try reader.integer("WEBHOOK_MAX_PAYLOAD_BYTES", default: 1_048_576, range: 1...512 * 1_048_576),
            itemKeyMaterial: itemKey,
            metricsListen: try reader.string("WEBHOOK_METRICS_LISTEN").map { (text) throws(ConfigurationError) in
                try HostPort(parsing: text, variable: "WEBHOOK_METRICS_LISTEN")
            })
    }

    /// WEBHOOK_ITEM_KEY (16+ characters), else WEBHOOK_SECRET, else a public key with a warning.
    private static func itemKeyMaterial(_ reader: ConfigurationReader, secret: String?,
                                        warnings: inout [String]) throws(ConfigurationError) -> [UInt8] {
        if let key = reader.secret("WEBHOOK_ITEM_KEY") {
            guard key.utf8.count >= 16 else {
                throw ConfigurationError(variable: "WEBHOOK_ITEM_KEY", message: "must be at least 16 characters")
            }
            return Array(key.utf8)
        }
        if let secret { return Array(secret.utf8) }
        warnings.append("neither WEBHOOK_ITEM_KEY nor WEBHOOK_SECRET is set: internal queue items are authenticated with a public key, so anyone who can write to Redis can forge retries (they still reach only configured endpoints)")
        return Array("webhook-worker: no WEBHOOK_ITEM_KEY or WEBHOOK_SECRET".utf8)
    }
}
