/// The dashboard (`webhook-worker dashboard`): where it listens, the token that lets an operator
/// in, and whether it may change anything.
///
/// The dashboard also reads `RedisConfiguration`, the endpoints (to list them and to replay dead
/// letters to them) and from `WorkerConfiguration` the lease (which workers count as live) and
/// the item key (a replayed dead letter is a signed delivery): ``variables`` names all of them.
public struct DashboardConfiguration: Sendable {
    /// DASHBOARD_LISTEN: the address of the pages, `/livez` and `/readyz` (`127.0.0.1:8081`:
    /// loopback by default, because the pages show what producers sent). The `dashboard
    /// --listen` flag sets it.
    public var listen: HostPort
    /// DASHBOARD_TOKEN: what an operator types once into the token form (default: none, and then
    /// the dashboard refuses to start unless `isOpen`).
    public var token: String?
    /// DASHBOARD_OPEN: serve the dashboard without a token, so anyone who reaches it can read
    /// it (and act, unless read-only). Explicit, as `INGEST_OPEN` is for the bridge: an
    /// unauthenticated dashboard should never happen by accident. The `dashboard --open` flag
    /// sets it.
    public var isOpen: Bool
    /// DASHBOARD_READ_ONLY: hide the pause, resume, replay and purge buttons and refuse their
    /// POSTs (false).
    public var readOnly: Bool

    /// The variables the dashboard reads, in the order of the README's table: what `dashboard`
    /// logs as its configuration.
    public static let variables: [String] = [
        "WEBHOOK_ADDRESS", "WEBHOOK_SECRET", "WEBHOOK_SIGNING_KEY", "DISCORD_WEBHOOK_URL",
        "REDIS_URL", "REDIS_KEY_PREFIX", "REDIS_SENTINELS", "REDIS_SENTINEL_MASTER", "REDIS_SENTINEL_PASSWORD",
        "WEBHOOK_ITEM_KEY", "WEBHOOK_LEASE", "WEBHOOK_ENDPOINTS_FILE",
        "DASHBOARD_LISTEN", "DASHBOARD_TOKEN", "DASHBOARD_OPEN", "DASHBOARD_READ_ONLY",
        "LOG_LEVEL", "LOG_FORMAT",
    ]

    static func load(_ reader: ConfigurationReader) throws(ConfigurationError) -> DashboardConfiguration {
        DashboardConfiguration(
            listen: try HostPort(parsing: reader.string("DASHBOARD_LISTEN") ?? "127.0.0.1:8081", variable: "DASHBOARD_LISTEN"),
            token: reader.secret("DASHBOARD_TOKEN"),
            isOpen: try reader.boolean("DASHBOARD_OPEN", default: false),
            readOnly: try reader.boolean("DASHBOARD_READ_ONLY", default: false))
    }
}
