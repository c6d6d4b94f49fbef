import Foundation

/// Every known variable's effective value and where it came from, secrets redacted: what a
/// command logs once at start-up, so "my setting did not apply" is answered by that line.
///
/// The table of known variables is ``known``; a variable added to ``Configuration`` or one of its
/// components needs a row there (a test checks that every variable in the README's table has one).
public struct EffectiveConfiguration: Sendable {
    /// One variable as it applies.
    public struct Setting: Sendable, Equatable {
        public let name: String
        /// The effective value as the process uses it (parsed and defaulted), secrets as `***`,
        /// unset as an empty string.
        public let value: String
        public let source: ConfigurationSource
    }

    /// A row of the table: a variable's name and how to show its effective value.
    public struct Variable: Sendable {
        public let name: String
        /// Its value is never shown, only whether it is set (`***`).
        public let isSecret: Bool
        /// The effective value from the loaded configuration (or, for a variable the
        /// configuration does not hold, from the merged variable map).
        let value: @Sendable (Configuration, [String: String]) -> String

        init(_ name: String, secret: Bool = false, _ value: @escaping @Sendable (Configuration, [String: String]) -> String) {
            self.name = name
            self.isSecret = secret
            self.value = value
        }
    }

    /// Every known variable, in the README's order.
    public let settings: [Setting]
    /// Names set in a flag or `.env`, or in the environment with one of this program's prefixes
    /// (`WEBHOOK_`, `REDIS_`, `INGEST_`, `DASHBOARD_`, `LOG_`), that nothing reads: usually a typo. Values are
    /// never kept.
    public let unknown: [(name: String, source: ConfigurationSource)]

    /// - Parameters:
    ///   - configuration: what `Configuration.load` made of the merged map.
    ///   - dotEnv, environment, flags: the three source maps, before merging.
    public init(configuration: Configuration, dotEnv: [String: String], environment: [String: String],
                flags: [String: String]) {
        let merged = dotEnv.merging(environment) { $1 }.merging(flags) { $1 }
        settings = Self.known.map { variable in
            let source = ConfigurationSource.of(variable.name, dotEnv: dotEnv, environment: environment, flags: flags)
            let value = variable.isSecret
                ? (source == .default ? "" : "***")
                : variable.value(configuration, merged)
            return Setting(name: variable.name, value: value, source: source)
        }
        let names = Set(Self.known.map(\.name))
        var unknown: [(String, ConfigurationSource)] = []
        for name in merged.keys.sorted() where !names.contains(name) {
            let source = ConfigurationSource.of(name, dotEnv: dotEnv, environment: environment, flags: flags)
            let ours = Self.prefixes.contains { name.hasPrefix($0) }
            if source == .flag || source == .dotEnv || (source == .environment && ours) {
                unknown.append((name, source))
            }
        }
        self.unknown = unknown
    }

    /// Name prefixes of this program's variables: an unknown environment variable with one of
    /// them is reported, any other belongs to someone else.
    public static let prefixes = ["WEBHOOK_", "REDIS_", "INGEST_", "DASHBOARD_", "LOG_"]

    /// The known variables.
    public static let known: [Variable] = [
        Variable("WEBHOOK_ADDRESS") { c, _ in c.endpoints.addresses.map(ConfigurationReader.redacted).joined(separator: ",") },
        Variable("WEBHOOK_SECRET", secret: true) { _, _ in "" },
        Variable("WEBHOOK_SIGNING_KEY", secret: true) { _, _ in "" },
        Variable("JOB_SEND_NOTIFICATIONS_INTERVAL") { c, _ in seconds(c.worker.pollInterval) },
        Variable("NUMBER_OF_RECURRENT_NOTIFICATIONS") { c, _ in String(c.endpoints.retry.effectiveRetries) },
        Variable("RECURRENT_NOTIFICATIONS_TIMEOUT") { c, _ in seconds(c.endpoints.retry.delay) },
        Variable("DISCORD_WEBHOOK_URL") { c, _ in c.endpoints.discordURL.map(ConfigurationReader.redacted) ?? "" },
        Variable("WEBHOOK_DISCORD_PER_ADMIN") { c, _ in String(c.endpoints.discordPerAdmin) },
        Variable("REDIS_URL") { c, _ in c.redis.url.description },
        Variable("REDIS_KEY_PREFIX") { c, _ in c.redis.keyPrefix },
        Variable("REDIS_SENTINELS") { c, _ in c.redis.url.sentinel?.sentinels.map(\.description).joined(separator: ",") ?? "" },
        Variable("REDIS_SENTINEL_MASTER") { c, _ in c.redis.url.sentinel?.masterName ?? "" },
        Variable("REDIS_SENTINEL_PASSWORD", secret: true) { _, _ in "" },
        Variable("WEBHOOK_TIMEOUT") { c, _ in seconds(c.http.timeout) },
        Variable("WEBHOOK_CONCURRENCY") { c, _ in String(c.http.concurrency) },
        Variable("WEBHOOK_ENDPOINT_CONCURRENCY") { c, _ in String(c.http.endpointConcurrency) },
        Variable("WEBHOOK_CA_FILE") { c, _ in c.http.caFile ?? "" },
        Variable("WEBHOOK_MAX_INFLIGHT") { c, _ in String(c.worker.maxInflightEvents) },
        Variable("WEBHOOK_MAX_INFLIGHT_BYTES") { c, _ in String(c.worker.maxInflightBytes) },
        Variable("WEBHOOK_BATCH_SIZE") { c, _ in String(c.worker.batchSize) },
        Variable("WEBHOOK_COMPAT") { c, _ in c.endpoints.compat.rawValue },
        Variable("WEBHOOK_ORDERING") { c, _ in c.endpoints.ordering == nil ? "none" : "per-user" },
        Variable("WEBHOOK_RETRY_SCHEDULE") { c, _ in c.endpoints.retry.schedule?.map(seconds).joined(separator: ",") ?? "" },
        Variable("WEBHOOK_RETRY_AFTER_MAX") { c, _ in seconds(c.endpoints.retry.retryAfterCap) },
        Variable("WEBHOOK_RATE_LIMIT_MAX_WAIT") { c, _ in seconds(c.endpoints.retry.rateLimitMaxWait) },
        Variable("WEBHOOK_MAX_PAYLOAD_BYTES") { c, _ in String(c.worker.maxPayloadBytes) },
        Variable("WEBHOOK_MAX_CRASHES") { c, _ in String(c.worker.maxCrashes) },
        Variable("WEBHOOK_DEAD_MAX") { c, _ in String(c.worker.deadMax) },
        Variable("WEBHOOK_ITEM_KEY", secret: true) { _, _ in "" },
        Variable("WEBHOOK_LEASE") { c, _ in seconds(c.worker.lease) },
        Variable("WEBHOOK_SHUTDOWN_GRACE") { c, _ in seconds(c.worker.shutdownGrace) },
        Variable("WEBHOOK_LIVENESS_BOUND") { c, _ in seconds(c.worker.livenessBound) },
        Variable("WEBHOOK_METRICS_LISTEN") { c, _ in c.worker.metricsListen?.description ?? "" },
        Variable("WEBHOOK_WORKER_ID") { c, _ in c.worker.id ?? "" },
        Variable("WEBHOOK_LOG_MAX") { c, _ in String(c.attemptLog.maxRecords) },
        Variable("WEBHOOK_LOG_MAX_AGE") { c, _ in c.attemptLog.maxAge.map(seconds) ?? "" },
        Variable("INGEST_LISTEN") { c, _ in c.bridge.listen.description },
        Variable("INGEST_SECRET", secret: true) { _, _ in "" },
        Variable("INGEST_OPEN") { c, _ in String(c.bridge.isOpen) },
        Variable("INGEST_MAX_BODY_BYTES") { c, _ in String(c.bridge.maxBodyBytes) },
        Variable("INGEST_MAX_BUFFERED_BYTES") { c, _ in String(c.bridge.maxBufferedBytes) },
        Variable("INGEST_ALLOW_LOOP") { c, _ in String(c.bridge.allowLoop) },
        Variable("INGEST_HEADER_TIMEOUT") { c, _ in seconds(c.bridge.headerTimeout) },
        Variable("INGEST_BODY_TIMEOUT") { c, _ in seconds(c.bridge.bodyTimeout) },
        Variable("INGEST_IDLE_TIMEOUT") { c, _ in seconds(c.bridge.idleTimeout) },
        Variable("DASHBOARD_LISTEN") { c, _ in c.dashboard.listen.description },
        Variable("DASHBOARD_TOKEN", secret: true) { _, _ in "" },
        Variable("DASHBOARD_OPEN") { c, _ in String(c.dashboard.isOpen) },
        Variable("DASHBOARD_READ_ONLY") { c, _ in String(c.dashboard.readOnly) },
        Variable("LOG_LEVEL") { c, _ in c.logLevel },
        Variable("LOG_FORMAT") { _, variables in ((try? LogFormat.load(variables)) ?? .text).rawValue },
        Variable("WEBHOOK_ENDPOINTS_FILE") { c, _ in c.endpoints.file ?? "" },
        Variable("WEBHOOK_BREAKER_FAILURES") { c, _ in String(c.endpoints.breaker.failures) },
        Variable("WEBHOOK_BREAKER_PROBE") { c, _ in seconds(c.endpoints.breaker.probeInterval) },
        Variable("WEBHOOK_BREAKER_MAX_HOLD") { c, _ in seconds(c.endpoints.breaker.maxHold) },
        Variable("WEBHOOK_EGRESS") { c, _ in c.http.egress.mode.rawValue },
        Variable("WEBHOOK_EGRESS_ALLOW") { c, _ in c.http.egress.allow.map(\.description).joined(separator: ",") },
        Variable("OTEL_EXPORTER_OTLP_ENDPOINT") { c, _ in c.tracing.endpoint.map(ConfigurationReader.redacted) ?? "" },
        Variable("OTEL_EXPORTER_OTLP_HEADERS", secret: true) { _, _ in "" },
        Variable("OTEL_SERVICE_NAME") { c, _ in c.tracing.resource.first?.1 ?? "" },
    ]

    /// Seconds without a trailing `.0`: `30`, `0.5`.
    static func seconds(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int(value)) : String(value)
    }
}
