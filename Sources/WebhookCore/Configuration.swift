import Foundation

/// Everything a worker (and the CLI's other commands) reads from the environment.
///
/// Marzban's variables keep Marzban's meaning and defaults; see ``load(_:)`` for the list.
public struct Configuration: Sendable {
    /// WEBHOOK_ADDRESS: comma-separated http(s) endpoints (may be empty).
    public var endpoints: [String]
    /// WEBHOOK_SECRET.
    public var secret: String?
    /// JOB_SEND_NOTIFICATIONS_INTERVAL: seconds between polls of the delayed set (30).
    public var pollInterval: Double
    /// NUMBER_OF_RECURRENT_NOTIFICATIONS (3), RECURRENT_NOTIFICATIONS_TIMEOUT (180),
    /// WEBHOOK_RETRY_SCHEDULE, WEBHOOK_RETRY_AFTER_MAX (3600).
    public var retry: RetryPolicy
    /// DISCORD_WEBHOOK_URL.
    public var discordURL: String?
    /// REDIS_URL (redis://127.0.0.1:6379/0).
    public var redis: RedisURL
    /// REDIS_KEY_PREFIX (webhooks).
    public var keyPrefix: String
    /// WEBHOOK_TIMEOUT: seconds per request (10).
    public var timeout: Double
    /// WEBHOOK_CONCURRENCY: requests in flight per worker (64).
    public var concurrency: Int
    /// WEBHOOK_ENDPOINT_CONCURRENCY: requests in flight per target (default: `concurrency`
    /// with one target, else 3/4 of it, so one slow endpoint cannot take every slot).
    public var endpointConcurrency: Int
    /// WEBHOOK_MAX_INFLIGHT: events held by a worker at once (1024).
    public var maxInflightEvents: Int
    /// WEBHOOK_MAX_INFLIGHT_BYTES: bytes a worker holds at once, counting each taken item plus
    /// about one request body per target (64 MiB).
    public var maxInflightBytes: Int
    /// WEBHOOK_BATCH_SIZE: events taken per round trip (256).
    public var batchSize: Int
    /// WEBHOOK_MAX_CRASHES: an item whose holding worker died this many times becomes a dead
    /// letter instead of being handed to the next worker (3).
    public var maxCrashes: Int
    /// WEBHOOK_DEAD_MAX: the dead list keeps at most this many entries, dropping the oldest with a
    /// warning and a metric (100000; 0 = no cap).
    public var deadMax: Int
    /// The key that authenticates internal queue items: WEBHOOK_ITEM_KEY, else derived from
    /// WEBHOOK_SECRET. Every worker of a fleet needs the same one.
    public var itemKeyMaterial: [UInt8]
    /// WEBHOOK_COMPAT: standard (default) or marzban.
    public var compat: CompatMode
    /// WEBHOOK_MAX_PAYLOAD_BYTES: larger events become dead letters (1048576).
    public var maxPayloadBytes: Int
    /// WEBHOOK_METRICS_LISTEN: where to serve /metrics and /healthz (off).
    public var metricsListen: HostPort?
    /// WEBHOOK_LEASE: seconds without heartbeat before a worker's items are reaped
    /// (default max(30, 3 × timeout); must exceed timeout + 1).
    public var lease: Double
    /// WEBHOOK_SHUTDOWN_GRACE: seconds to finish in-flight work on SIGTERM (8; below 10,
    /// the usual grace before SIGKILL).
    public var shutdownGrace: Double
    /// WEBHOOK_WORKER_ID (default: generated when the worker starts).
    public var workerID: String?
    /// INGEST_LISTEN (0.0.0.0:8080).
    public var ingestListen: HostPort
    /// INGEST_SECRET.
    public var ingestSecret: String?
    /// INGEST_OPEN: run the bridge without INGEST_SECRET (anyone who reaches it can enqueue).
    public var ingestOpen: Bool
    /// LOG_LEVEL: trace, debug, info (default), notice, warning, error, critical.
    public var logLevel: String
    /// Non-fatal findings to log at start-up.
    public var warnings: [String]
    /// WEBHOOK_ENDPOINTS_FILE: the YAML file describing endpoints one by one (off).
    public var endpointsFile: String? = nil
    /// Every endpoint, resolved: WEBHOOK_ADDRESS's and DISCORD_WEBHOOK_URL's (implicit), then
    /// the endpoints file's. See ``EndpointsFile/resolve(file:addresses:discordURL:defaults:)``.
    public var endpointSpecs: [EndpointSpec] = []
    /// WEBHOOK_BREAKER_FAILURES: consecutive failures that open an endpoint's circuit (20).
    public var breakerFailures: Int = 20
    /// WEBHOOK_BREAKER_PROBE: seconds between probes of an open endpoint (30).
    public var breakerProbe: Double = 30
    /// WEBHOOK_BREAKER_MAX_HOLD: seconds a delivery may be held by an open or paused endpoint
    /// before it becomes a dead letter (72 h).
    public var breakerMaxHold: Double = 72 * 3600

    /// Every target: `WEBHOOK_ADDRESS` endpoints, then Discord.
    public var targets: [Target] {
        if !endpointSpecs.isEmpty { return endpointSpecs.map(Target.init(spec:)) }
        return endpoints.map { Target(kind: .webhook, url: $0) } + (discordURL.map { [Target(kind: .discord, url: $0)] } ?? [])
    }

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
    /// - Parameter readFile: reads WEBHOOK_ENDPOINTS_FILE (tests pass the text instead).
    public static func load(_ variables: [String: String],
                            readFile: (String) throws -> String = Configuration.readTextFile) throws(ConfigurationError) -> Configuration {
        let reader = ConfigurationReader(variables: variables)
        var warnings: [String] = []

        var endpoints: [String] = []
        for part in (reader.string("WEBHOOK_ADDRESS") ?? "").split(separator: ",") {
            let text = part.trimmingCharacters(in: .whitespaces)
            if text.isEmpty { continue }
            let url = try ConfigurationReader.httpURL(text, variable: "WEBHOOK_ADDRESS")
            if endpoints.contains(url) {
                warnings.append("WEBHOOK_ADDRESS: '\(ConfigurationReader.redacted(url))' is listed twice; delivering once")
            } else {
                endpoints.append(url)
            }
        }
        let discordURL = try reader.string("DISCORD_WEBHOOK_URL").map { (text) throws(ConfigurationError) in
            try ConfigurationReader.httpURL(text, variable: "DISCORD_WEBHOOK_URL")
        }
        if let discordURL, !Self.looksLikeDiscord(discordURL) {
            warnings.append("DISCORD_WEBHOOK_URL does not look like https://discord.com/api/webhooks/...; sending Discord embeds anyway")
        }
        if endpoints.isEmpty && discordURL == nil && reader.string("WEBHOOK_ENDPOINTS_FILE") == nil {
            warnings.append("neither WEBHOOK_ADDRESS nor DISCORD_WEBHOOK_URL is set: events will be taken and acknowledged without delivery")
        }

        let secret = reader.secret("WEBHOOK_SECRET")
        if let secret, secret.hasPrefix("whsec_"), WebhookSigner.standardKey(for: secret) == nil {
            warnings.append("WEBHOOK_SECRET starts with whsec_ but the rest is not base64: webhook-signature uses the whole secret as the key")
        }

        let retries = try reader.integer("NUMBER_OF_RECURRENT_NOTIFICATIONS", default: 3, range: 0...10_000)
        var retry = RetryPolicy(
            retries: retries,
            delay: try reader.seconds("RECURRENT_NOTIFICATIONS_TIMEOUT", default: 180, allowZero: true),
            schedule: try reader.schedule("WEBHOOK_RETRY_SCHEDULE"),
            retryAfterCap: try reader.seconds("WEBHOOK_RETRY_AFTER_MAX", default: 3600, allowZero: true),
            rateLimitMaxWait: try reader.seconds("WEBHOOK_RATE_LIMIT_MAX_WAIT", default: 600, allowZero: true))
        if let schedule = retry.schedule {
            if reader.string("NUMBER_OF_RECURRENT_NOTIFICATIONS") != nil && schedule.count != retries {
                warnings.append("WEBHOOK_RETRY_SCHEDULE has \(schedule.count) entries and overrides NUMBER_OF_RECURRENT_NOTIFICATIONS=\(retries)")
            }
            retry.retries = schedule.count
        }

        let timeout = try reader.seconds("WEBHOOK_TIMEOUT", default: 10)
        let concurrency = try reader.integer("WEBHOOK_CONCURRENCY", default: 64, range: 1...100_000)
        let targets = endpoints.count + (discordURL == nil ? 0 : 1)
        var endpointConcurrency = try reader.integer("WEBHOOK_ENDPOINT_CONCURRENCY",
                                                     default: targets <= 1 ? concurrency : max(1, concurrency * 3 / 4),
                                                     range: 1...100_000)
        if endpointConcurrency > concurrency {
            warnings.append("WEBHOOK_ENDPOINT_CONCURRENCY=\(endpointConcurrency) exceeds WEBHOOK_CONCURRENCY=\(concurrency); using \(concurrency)")
            endpointConcurrency = concurrency
        }
        let maxInflight = try reader.integer("WEBHOOK_MAX_INFLIGHT", default: 1024, range: 1...10_000_000)
        var batchSize = try reader.integer("WEBHOOK_BATCH_SIZE", default: 256, range: 1...100_000)
        if batchSize > maxInflight {
            warnings.append("WEBHOOK_BATCH_SIZE=\(batchSize) exceeds WEBHOOK_MAX_INFLIGHT=\(maxInflight); using \(maxInflight)")
            batchSize = maxInflight
        }

        let maxInflightBytes = try reader.integer("WEBHOOK_MAX_INFLIGHT_BYTES", default: 64 << 20,
                                                  range: (1 << 16)...(1 << 40))
        let itemKey: [UInt8]
        if let key = reader.secret("WEBHOOK_ITEM_KEY") {
            guard key.utf8.count >= 16 else {
                throw ConfigurationError(variable: "WEBHOOK_ITEM_KEY", message: "must be at least 16 characters")
            }
            itemKey = Array(key.utf8)
        } else if let secret {
            itemKey = Array(secret.utf8)
        } else {
            itemKey = Array("webhook-worker: no WEBHOOK_ITEM_KEY or WEBHOOK_SECRET".utf8)
            warnings.append("neither WEBHOOK_ITEM_KEY nor WEBHOOK_SECRET is set: internal queue items are authenticated with a public key, so anyone who can write to Redis can forge retries (they still reach only configured endpoints)")
        }

        let lease = try reader.seconds("WEBHOOK_LEASE", default: max(30, 3 * timeout))
        guard lease > timeout + 1 else {
            throw ConfigurationError(variable: "WEBHOOK_LEASE",
                                     message: "must exceed WEBHOOK_TIMEOUT + 1 s (\(timeout + 1)), got '\(reader.string("WEBHOOK_LEASE") ?? "")'")
        }
        let grace = try reader.seconds("WEBHOOK_SHUTDOWN_GRACE", default: 8, allowZero: true)
        guard grace < 10 else {
            throw ConfigurationError(variable: "WEBHOOK_SHUTDOWN_GRACE",
                                     message: "must be below 10 seconds (the usual wait before SIGKILL), got '\(reader.string("WEBHOOK_SHUTDOWN_GRACE") ?? "")'")
        }

        // May lower endpointConcurrency's default and add warnings, so before both are used.
        let endpointSpecs = try resolveEndpoints(reader, addresses: endpoints, discordURL: discordURL, secret: secret,
                                                 timeout: timeout, concurrency: concurrency, lease: lease,
                                                 endpointConcurrency: &endpointConcurrency, warnings: &warnings,
                                                 readFile: readFile)
        return Configuration(
            endpoints: endpoints,
            secret: secret,
            pollInterval: try reader.seconds("JOB_SEND_NOTIFICATIONS_INTERVAL", default: 30),
            retry: retry,
            discordURL: discordURL,
            redis: try redisURL(reader),
            keyPrefix: try reader.name("REDIS_KEY_PREFIX") ?? "webhooks",
            timeout: timeout,
            concurrency: concurrency,
            endpointConcurrency: endpointConcurrency,
            maxInflightEvents: maxInflight,
            maxInflightBytes: maxInflightBytes,
            batchSize: batchSize,
            maxCrashes: try reader.integer("WEBHOOK_MAX_CRASHES", default: 3, range: 1...1000),
            deadMax: try reader.integer("WEBHOOK_DEAD_MAX", default: 100_000, range: 0...1_000_000_000),
            itemKeyMaterial: itemKey,
            compat: try compatMode(reader),
            maxPayloadBytes: try reader.integer("WEBHOOK_MAX_PAYLOAD_BYTES", default: 1_048_576, range: 1...512 * 1_048_576),
            metricsListen: try reader.string("WEBHOOK_METRICS_LISTEN").map { (text) throws(ConfigurationError) in
                try HostPort(parsing: text, variable: "WEBHOOK_METRICS_LISTEN")
            },
            lease: lease,
            shutdownGrace: grace,
            workerID: try reader.name("WEBHOOK_WORKER_ID"),
            ingestListen: try HostPort(parsing: reader.string("INGEST_LISTEN") ?? "0.0.0.0:8080", variable: "INGEST_LISTEN"),
            ingestSecret: reader.secret("INGEST_SECRET"),
            ingestOpen: try reader.boolean("INGEST_OPEN", default: false),
            logLevel: try logLevel(reader),
            warnings: warnings,
            endpointsFile: reader.string("WEBHOOK_ENDPOINTS_FILE"),
            endpointSpecs: endpointSpecs,
            breakerFailures: try reader.integer("WEBHOOK_BREAKER_FAILURES", default: 20, range: 1...1_000_000),
            breakerProbe: try reader.seconds("WEBHOOK_BREAKER_PROBE", default: 30),
            breakerMaxHold: try reader.seconds("WEBHOOK_BREAKER_MAX_HOLD", default: 72 * 3600))
    }

    /// REDIS_URL, with REDIS_SENTINELS, REDIS_SENTINEL_MASTER and REDIS_SENTINEL_PASSWORD.
    private static func redisURL(_ reader: ConfigurationReader) throws(ConfigurationError) -> RedisURL {
        var url = try reader.string("REDIS_URL").map { (text) throws(ConfigurationError) in try RedisURL(parsing: text) } ?? .default
        url.sentinel = try RedisSentinel.parse(sentinels: reader.string("REDIS_SENTINELS"),
                                               master: reader.string("REDIS_SENTINEL_MASTER"),
                                               password: reader.secret("REDIS_SENTINEL_PASSWORD"))
        return url
    }

    private static func compatMode(_ reader: ConfigurationReader) throws(ConfigurationError) -> CompatMode {
        guard let text = reader.string("WEBHOOK_COMPAT") else { return .standard }
        guard let mode = CompatMode(rawValue: text.lowercased()) else {
            throw ConfigurationError(variable: "WEBHOOK_COMPAT", message: "expected 'standard' or 'marzban', got '\(text)'")
        }
        return mode
    }

    private static func logLevel(_ reader: ConfigurationReader) throws(ConfigurationError) -> String {
        guard let text = reader.string("LOG_LEVEL") else { return "info" }
        guard logLevels.contains(text.lowercased()) else {
            throw ConfigurationError(variable: "LOG_LEVEL", message: "expected one of \(logLevels.joined(separator: ", ")), got '\(text)'")
        }
        return text.lowercased()
    }

    private static func looksLikeDiscord(_ url: String) -> Bool {
        ["https://discord.com/api/webhooks/", "https://discordapp.com/api/webhooks/",
         "https://ptb.discord.com/api/webhooks/", "https://canary.discord.com/api/webhooks/"]
            .contains { url.lowercased().hasPrefix($0) }
    }
}

extension Configuration {
    /// Reads a UTF-8 text file: the default way ``load(_:readFile:)`` reads the endpoints file.
    public static func readTextFile(_ path: String) throws -> String {
        try String(contentsOfFile: path, encoding: .utf8)
    }

    /// WEBHOOK_ENDPOINTS_FILE plus the implicit endpoints, with every default applied. Errors
    /// are WEBHOOK_ENDPOINTS_FILE's and name the file, endpoint and field.
    ///
    /// With more than one endpoint in all and WEBHOOK_ENDPOINT_CONCURRENCY unset, the per-endpoint
    /// default becomes 3/4 of WEBHOOK_CONCURRENCY, as with several WEBHOOK_ADDRESS entries.
    static func resolveEndpoints(_ reader: ConfigurationReader, addresses: [String], discordURL: String?, secret: String?,
                                 timeout: Double, concurrency: Int, lease: Double, endpointConcurrency: inout Int,
                                 warnings: inout [String], readFile: (String) throws -> String) throws(ConfigurationError) -> [EndpointSpec] {
        let variable = "WEBHOOK_ENDPOINTS_FILE"
        var text: String?
        let path = reader.string(variable)
        if let path {
            do {
                text = try readFile(path)
            } catch {
                throw ConfigurationError(variable: variable, message: "\(path): cannot be read (\(error.localizedDescription))")
            }
        }
        var defaults = EndpointDefaults(secret: secret, compat: try compatMode(reader), timeout: timeout, concurrency: endpointConcurrency)
        func resolve() throws(EndpointsFileError) -> (endpoints: [EndpointSpec], warnings: [String]) {
            let file = try text.map { (text) throws(EndpointsFileError) in try EndpointsFile.parse(text, file: path ?? "", defaults: defaults) }
            return try EndpointsFile.resolve(file: file, addresses: addresses, discordURL: discordURL, defaults: defaults)
        }
        do throws(EndpointsFileError) {
            var resolved = try resolve()
            if resolved.endpoints.count > 1, reader.string("WEBHOOK_ENDPOINT_CONCURRENCY") == nil,
               endpointConcurrency == concurrency, concurrency > 1 {
                endpointConcurrency = max(1, concurrency * 3 / 4)
                defaults.concurrency = endpointConcurrency
                resolved = try resolve()
            }
            for index in resolved.endpoints.indices {
                let endpoint = resolved.endpoints[index]
                guard endpoint.timeout + 1 < lease else {
                    throw EndpointsFileError(file: path ?? "", endpoint: "'\(endpoint.name)'", field: "timeout",
                                             message: "\(endpoint.timeout) s must be below WEBHOOK_LEASE - 1 s (WEBHOOK_LEASE is \(lease) s: raise it or lower the timeout)")
                }
                if endpoint.concurrency > concurrency {
                    warnings.append("\(path ?? ""): endpoint '\(endpoint.name)': field 'concurrency': \(endpoint.concurrency) exceeds WEBHOOK_CONCURRENCY=\(concurrency); using \(concurrency)")
                    resolved.endpoints[index].concurrency = concurrency
                }
            }
            warnings += resolved.warnings
            return resolved.endpoints
        } catch {
            throw ConfigurationError(variable: variable, message: error.description)
        }
    }
}
