/// The Marzban bridge (`webhook-worker ingest`): where it listens, how it authenticates the
/// panel, and how much it takes from a client. Marzban's WEBHOOK_ADDRESS points at it and its
/// WEBHOOK_SECRET is `secret`.
///
/// The bridge also reads `RedisConfiguration`, and from `WorkerConfiguration` the per-event cap
/// (it dead-letters what a worker would), the dead list's cap, and the lease (the queue depths
/// it reports count the workers alive within it): ``variables`` names all of them.
public struct BridgeConfiguration: Sendable {
    /// INGEST_LISTEN: the address of `POST /events`, `/metrics` and the health checks
    /// (`0.0.0.0:8080`). The `ingest --listen` flag sets it.
    public var listen: HostPort
    /// INGEST_SECRET: the secret Marzban authenticates with, its WEBHOOK_SECRET (default: none,
    /// and then the bridge refuses to start unless `isOpen`).
    public var secret: String?
    /// INGEST_OPEN: run the bridge without INGEST_SECRET, so anyone who reaches it can enqueue
    /// (false). Explicit, because an unauthenticated bridge should never happen by accident. The
    /// `ingest --open` flag sets it.
    public var isOpen: Bool
    /// INGEST_MAX_BODY_BYTES: the largest POST body (64 MiB). Separate from the per-event
    /// WEBHOOK_MAX_PAYLOAD_BYTES because Marzban sends everything due in one array: after an
    /// outage that array holds the whole backlog.
    public var maxBodyBytes: Int
    /// INGEST_MAX_BUFFERED_BYTES: request bodies held at once, all connections together
    /// (default and least 2 × INGEST_MAX_BODY_BYTES). Bodies whose sender is not yet
    /// authenticated (a hex HMAC needs the body) may use half of it, so a POST of the largest
    /// size from the panel always fits beside them. Beyond it a POST is answered 503 with
    /// `Retry-After`, so the bridge's memory has a bound whatever clients do.
    public var maxBufferedBytes: Int
    /// INGEST_ALLOW_LOOP: accept requests that carry this product's own delivery headers (false).
    /// Such a request comes from a worker whose endpoint is a bridge; with the same secret on
    /// both sides every delivered event would be enqueued again, forever. Refused with 508.
    public var allowLoop: Bool
    /// INGEST_HEADER_TIMEOUT: seconds from a request's first byte to the end of its headers (10).
    public var headerTimeout: Double
    /// INGEST_BODY_TIMEOUT: seconds from the end of a request's headers to the end of its body
    /// (60).
    public var bodyTimeout: Double
    /// INGEST_IDLE_TIMEOUT: seconds a connection may wait, after connecting or after an answer,
    /// for the first byte of its next request (60).
    public var idleTimeout: Double

    /// The variables the bridge reads, in the order of the README's table: what `ingest` logs
    /// as its configuration.
    public static let variables: [String] = [
        "REDIS_URL", "REDIS_KEY_PREFIX", "REDIS_SENTINELS", "REDIS_SENTINEL_MASTER", "REDIS_SENTINEL_PASSWORD",
        "WEBHOOK_MAX_PAYLOAD_BYTES", "WEBHOOK_DEAD_MAX", "WEBHOOK_LEASE",
        "INGEST_LISTEN", "INGEST_SECRET", "INGEST_OPEN", "INGEST_MAX_BODY_BYTES", "INGEST_MAX_BUFFERED_BYTES",
        "INGEST_ALLOW_LOOP", "INGEST_HEADER_TIMEOUT", "INGEST_BODY_TIMEOUT", "INGEST_IDLE_TIMEOUT",
        "LOG_LEVEL", "LOG_FORMAT",
    ]

    static func load(_ reader: ConfigurationReader) throws(ConfigurationError) -> BridgeConfiguration {
        let maxBody = try reader.integer("INGEST_MAX_BODY_BYTES", default: 64 << 20, range: 1...(1 << 30))
        let buffered = try reader.integer("INGEST_MAX_BUFFERED_BYTES", default: 2 * maxBody, range: 1...(1 << 34))
        guard buffered >= 2 * maxBody else {
            throw ConfigurationError(variable: "INGEST_MAX_BUFFERED_BYTES",
                                     message: "must be at least 2 × INGEST_MAX_BODY_BYTES (\(2 * maxBody)), got '\(buffered)'")
        }
        return BridgeConfiguration(
            listen: try HostPort(parsing: reader.string("INGEST_LISTEN") ?? "0.0.0.0:8080", variable: "INGEST_LISTEN"),
            secret: reader.secret("INGEST_SECRET"),
            isOpen: try reader.boolean("INGEST_OPEN", default: false),
            maxBodyBytes: maxBody,
            maxBufferedBytes: buffered,
            allowLoop: try reader.boolean("INGEST_ALLOW_LOOP", default: false),
            headerTimeout: try reader.seconds("INGEST_HEADER_TIMEOUT", default: 10),
            bodyTimeout: try reader.seconds("INGEST_BODY_TIMEOUT", default: 60),
            idleTimeout: try reader.seconds("INGEST_IDLE_TIMEOUT", default: 60))
    }
}
