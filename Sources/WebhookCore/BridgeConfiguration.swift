/// The Marzban bridge (`webhook-worker ingest`): where it listens and how it authenticates the
/// panel. Marzban's WEBHOOK_ADDRESS points at it and its WEBHOOK_SECRET is `secret`.
///
/// The bridge also reads `RedisConfiguration`, and from `WorkerConfiguration` the payload cap (it
/// refuses what a worker would turn into a dead letter) and the lease (the queue depths it reports
/// count the workers alive within it).
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

    static func load(_ reader: ConfigurationReader) throws(ConfigurationError) -> BridgeConfiguration {
        BridgeConfiguration(
            listen: try HostPort(parsing: reader.string("INGEST_LISTEN") ?? "0.0.0.0:8080", variable: "INGEST_LISTEN"),
            secret: reader.secret("INGEST_SECRET"),
            isOpen: try reader.boolean("INGEST_OPEN", default: false))
    }
}
