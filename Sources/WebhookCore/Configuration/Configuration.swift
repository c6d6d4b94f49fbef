import Foundation

/// Everything a worker (and the CLI's other commands) reads from the environment, nested per
/// component: ``RedisConfiguration``, ``WorkerConfiguration``, ``HTTPConfiguration``,
/// ``EndpointsConfiguration`` (with its ``BreakerConfiguration``), ``BridgeConfiguration`` and
/// ``DashboardConfiguration``.
/// Each component's doc comments name its variables and their defaults.
///
/// Marzban's variables keep Marzban's meaning and defaults. ``load(_:readFile:)`` is the one way
/// to make one: components depend on each other's values (see there).
public struct Configuration: Sendable {
    /// REDIS_URL, the Sentinel variables, REDIS_KEY_PREFIX: every command.
    public var redis: RedisConfiguration
    /// What one worker process takes, holds and refuses, its lease and its shutdown.
    public var worker: WorkerConfiguration
    /// The HTTP client's timeout and concurrency, the defaults of every endpoint.
    public var http: HTTPConfiguration
    /// The endpoints, the defaults they inherit (secret, compat, retries) and the breaker.
    public var endpoints: EndpointsConfiguration
    /// The Marzban bridge (`ingest`).
    public var bridge: BridgeConfiguration
    /// The web dashboard (`dashboard`).
    public var dashboard: DashboardConfiguration
    /// OpenTelemetry traces of delivery attempts (the standard `OTEL_*` variables); off by default.
    public var tracing: TracingConfiguration = .off
    /// The attempt log's caps (WEBHOOK_LOG_MAX, WEBHOOK_LOG_MAX_AGE).
    public var attemptLog: AttemptLogConfiguration = .default
    /// LOG_LEVEL: trace, debug, info (default), notice, warning, error, critical. At the top level
    /// because it is the process's, whichever command runs, not one component's.
    public var logLevel: String
    /// Non-fatal findings to log at start-up. At the top level because several come from
    /// comparing components (an endpoint's concurrency against WEBHOOK_CONCURRENCY), and they are
    /// logged together, in the order they were found.
    public var warnings: [String]

    /// Every target: the resolved endpoints (WEBHOOK_ADDRESS's, Discord, the endpoints file's).
    public var targets: [Target] { endpoints.targets }

    /// The log levels LOG_LEVEL accepts (swift-log's).
    public static let logLevels = ["trace", "debug", "info", "notice", "warning", "error", "critical"]

    /// The variable map with precedence `.env` < environment < overrides (command-line flags).
    public static func merged(environment: [String: String], dotEnvText: String?, overrides: [String: String]) -> [String: String] {
        var variables = dotEnvText.map(DotEnv.parse) ?? [:]
        variables.merge(environment) { _, environment in environment }
        variables.merge(overrides) { _, override in override }
        return variables
    }

    /// Reads and checks every variable; the first bad one throws an error naming it.
    ///
    /// Components load in the order they depend on each other, which is also the order of
    /// `warnings`: the endpoints' implicit part (WEBHOOK_ADDRESS, DISCORD_WEBHOOK_URL, the secret,
    /// compat, retries, breaker); HTTP (its per-endpoint default counts those endpoints); the
    /// worker (the lease's default and bound come from the timeout, the item key falls back to
    /// the secret); then the endpoints file, checked against all three; then Redis, the bridge,
    /// the dashboard and LOG_LEVEL, which depend on nothing.
    /// - Parameter readFile: reads WEBHOOK_ENDPOINTS_FILE and WEBHOOK_CA_FILE (tests pass the text
    ///   instead).
    public static func load(_ variables: [String: String],
                            readFile: (String) throws -> String = Configuration.readTextFile) throws(ConfigurationError) -> Configuration {
        let reader = ConfigurationReader(variables: variables)
        var warnings: [String] = []
        var endpoints = try EndpointsConfiguration.load(reader, warnings: &warnings)
        var http = try HTTPConfiguration.load(reader, endpoints: endpoints.implicitCount, warnings: &warnings,
                                              readFile: readFile)
        let worker = try WorkerConfiguration.load(reader, timeout: http.timeout, secret: endpoints.secret, warnings: &warnings)
        // May lower http.endpointConcurrency and add warnings.
        try endpoints.resolveSpecs(reader, http: &http, lease: worker.lease, warnings: &warnings, readFile: readFile)
        try checkEgress(endpoints, http.egress)
        let redis = try RedisConfiguration.load(reader)
        let bridge = try BridgeConfiguration.load(reader)
        let dashboard = try DashboardConfiguration.load(reader)
        var configuration = Configuration(redis: redis, worker: worker, http: http, endpoints: endpoints, bridge: bridge,
                                          dashboard: dashboard, logLevel: try logLevel(reader), warnings: warnings)
        configuration.tracing = try TracingConfiguration.load(reader)
        configuration.attemptLog = try AttemptLogConfiguration.load(reader)
        return configuration
    }

    /// Refuses an endpoint whose URL names, as a literal, an address the egress guard forbids:
    /// it could never be delivered, and saying so at start-up beats a dead letter per event.
    /// Names are judged when they are connected to (`HTTPRequest.connectCheck`). Proxied
    /// endpoints are not judged here: their proxy is the policy point.
    static func checkEgress(_ endpoints: EndpointsConfiguration, _ policy: EgressPolicy) throws(ConfigurationError) {
        guard policy.mode != .off else { return }
        for spec in endpoints.specs where spec.proxy == nil {
            guard let host = URLComponents(string: spec.url)?.host, let address = IPAddress(literal: host),
                  let refusal = policy.refusal(address, privateOK: spec.egressPrivateOK) else { continue }
            let fix = "set WEBHOOK_EGRESS_ALLOW to exempt the range, or WEBHOOK_EGRESS=off"
            if !spec.isImplicit {
                throw ConfigurationError(variable: "WEBHOOK_ENDPOINTS_FILE",
                                         message: "\(endpoints.file ?? ""): endpoint '\(spec.name)': url: \(refusal); "
                                             + (policy.mode == .private ? "set egress: private-ok on it, or " : "") + fix)
            }
            throw ConfigurationError(variable: spec.kind == .discord ? "DISCORD_WEBHOOK_URL" : "WEBHOOK_ADDRESS",
                                     message: "'\(spec.displayURL)': \(refusal); \(fix)")
        }
    }

    /// Reads a UTF-8 text file: the default way ``load(_:readFile:)`` reads the endpoints file.
    public static func readTextFile(_ path: String) throws -> String {
        try String(contentsOfFile: path, encoding: .utf8)
    }

    private static func logLevel(_ reader: ConfigurationReader) throws(ConfigurationError) -> String {
        guard let text = reader.string("LOG_LEVEL") else { return "info" }
        guard logLevels.contains(text.lowercased()) else {
            throw ConfigurationError(variable: "LOG_LEVEL", message: "expected one of \(logLevels.joined(separator: ", ")), got '\(text)'")
        }
        return text.lowercased()
    }
}
