import Foundation

/// Where events go and how they are sent there: the endpoints of WEBHOOK_ADDRESS and
/// DISCORD_WEBHOOK_URL (the implicit ones) and of WEBHOOK_ENDPOINTS_FILE, the defaults every
/// endpoint inherits unless the file says otherwise (secret, wire format, retry policy), and the
/// circuit breaker in front of each.
///
/// The HTTP defaults an endpoint inherits (timeout, concurrency) are ``HTTPConfiguration``'s.
public struct EndpointsConfiguration: Sendable {
    /// WEBHOOK_ADDRESS: comma-separated http(s) endpoints, each kept once (default: none).
    public var addresses: [String]
    /// DISCORD_WEBHOOK_URL: also post each event to Discord as an embed (default: none).
    public var discordURL: String?
    /// WEBHOOK_DISCORD_PER_ADMIN: also post each event to the Discord webhook of the admin who
    /// owns the user (`user.admin.discord_webhook`), as Marzban does: the implicit endpoint
    /// `discord-admin` (default: false).
    public var discordPerAdmin = false
    /// WEBHOOK_SECRET: signs every webhook endpoint that names no secret of its own (default:
    /// none, unsigned). Also the fallback of `WorkerConfiguration.itemKeyMaterial`.
    public var secret: String?
    /// WEBHOOK_SIGNING_KEY: Ed25519 `whsk_` keys, newest first (comma-separated, two during a
    /// rotation), that sign every standard-mode webhook endpoint naming no `signing_key` of its
    /// own with a `v1a` signature (default: none).
    public var signingKeys: [AsymmetricSigningKey] = []
    /// WEBHOOK_COMPAT: the wire format of every endpoint that names none: standard (default) or
    /// marzban.
    public var compat: CompatMode
    /// NUMBER_OF_RECURRENT_NOTIFICATIONS (3), RECURRENT_NOTIFICATIONS_TIMEOUT (180),
    /// WEBHOOK_RETRY_SCHEDULE (none; when set, its length is the number of retries),
    /// WEBHOOK_RETRY_AFTER_MAX (3600), WEBHOOK_RATE_LIMIT_MAX_WAIT (600).
    public var retry: RetryPolicy
    /// WEBHOOK_ENDPOINTS_FILE: the path of the YAML file describing endpoints one by one
    /// (default: none).
    public var file: String?
    /// Every endpoint, resolved: WEBHOOK_ADDRESS's and DISCORD_WEBHOOK_URL's (implicit), then
    /// the endpoints file's, with every default applied. See
    /// ``EndpointsFile/resolve(file:addresses:discordURL:defaults:)``.
    public var specs: [EndpointSpec] = []
    /// WEBHOOK_ORDERING: `per-user` orders the implicit webhook endpoints' deliveries per
    /// `username` (as `ordering: per-key` does in the endpoints file); default none.
    public var ordering: OrderingSpec?
    /// WEBHOOK_BREAKER_FAILURES, WEBHOOK_BREAKER_PROBE, WEBHOOK_BREAKER_MAX_HOLD.
    public var breaker: BreakerConfiguration

    /// Every target: the resolved endpoints; before they are resolved (or when there are none),
    /// `addresses`, then Discord.
    public var targets: [Target] {
        if !specs.isEmpty { return specs.map(Target.init(spec:)) }
        return addresses.map { Target(kind: .webhook, url: $0) } + (discordURL.map { [Target(kind: .discord, url: $0)] } ?? [])
    }

    /// The endpoints WEBHOOK_ADDRESS and DISCORD_WEBHOOK_URL name, not counting the file's.
    var implicitCount: Int { addresses.count + (discordURL == nil ? 0 : 1) + (discordPerAdmin ? 1 : 0) }

    /// Everything but the endpoints file: the implicit endpoints, the defaults and the breaker.
    /// `specs` stays empty until ``resolveSpecs(_:http:lease:warnings:readFile:)``, which needs
    /// the HTTP and worker settings that depend on these.
    static func load(_ reader: ConfigurationReader, warnings: inout [String]) throws(ConfigurationError) -> EndpointsConfiguration {
        var addresses: [String] = []
        for part in (reader.string("WEBHOOK_ADDRESS") ?? "").split(separator: ",") {
            let text = part.trimmingCharacters(in: .whitespaces)
            if text.isEmpty { continue }
            let url = try ConfigurationReader.httpURL(text, variable: "WEBHOOK_ADDRESS")
            if addresses.contains(url) {
                warnings.append("WEBHOOK_ADDRESS: '\(ConfigurationReader.redacted(url))' is listed twice; delivering once")
            } else {
                addresses.append(url)
            }
        }
        let discordURL = try reader.string("DISCORD_WEBHOOK_URL").map { (text) throws(ConfigurationError) in
            try ConfigurationReader.httpURL(text, variable: "DISCORD_WEBHOOK_URL")
        }
        if let discordURL, !looksLikeDiscord(discordURL) {
            warnings.append("DISCORD_WEBHOOK_URL does not look like https://discord.com/api/webhooks/...; sending Discord embeds anyway")
        }
        let file = reader.string("WEBHOOK_ENDPOINTS_FILE")
        let discordPerAdmin = try reader.boolean("WEBHOOK_DISCORD_PER_ADMIN", default: false)
        if addresses.isEmpty && discordURL == nil && file == nil && !discordPerAdmin {
            warnings.append("neither WEBHOOK_ADDRESS nor DISCORD_WEBHOOK_URL is set: events will be taken and acknowledged without delivery")
        }

        let secret = reader.secret("WEBHOOK_SECRET")
        // Marzban mode sends the secret itself as a header value (value not shown: a secret).
        if let secret, ConfigurationReader.hasLineBreakOrControl(secret) {
            throw ConfigurationError(variable: "WEBHOOK_SECRET", message: "contains a line break or control character (a trailing newline from a file?)")
        }
        if let secret, secret.hasPrefix("whsec_"), WebhookSigner.standardKey(for: secret) == nil {
            warnings.append("WEBHOOK_SECRET starts with whsec_ but the rest is not base64: webhook-signature uses the whole secret as the key")
        }

        let retry = try retryPolicy(reader, warnings: &warnings)
        var configuration = EndpointsConfiguration(addresses: addresses, discordURL: discordURL, secret: secret,
                                                   compat: try compatMode(reader), retry: retry, file: file,
                                                   breaker: try BreakerConfiguration.load(reader))
        configuration.signingKeys = try signingKeys(reader)
        configuration.discordPerAdmin = discordPerAdmin
        if let text = reader.string("WEBHOOK_ORDERING") {
            switch text.lowercased() {
            case "per-user": configuration.ordering = OrderingSpec()
            case "none", "off": break
            default: throw ConfigurationError(variable: "WEBHOOK_ORDERING", message: "expected 'per-user' or 'none', got '\(text)'")
            }
        }
        if !configuration.signingKeys.isEmpty, configuration.compat == .marzban {
            warnings.append("WEBHOOK_SIGNING_KEY is set but WEBHOOK_COMPAT=marzban sends no webhook-signature: only endpoints with compat: standard are signed")
        }
        return configuration
    }

    /// WEBHOOK_SIGNING_KEY: one `whsk_` key, or several comma-separated (newest first).
    static func signingKeys(_ reader: ConfigurationReader) throws(ConfigurationError) -> [AsymmetricSigningKey] {
        let variable = "WEBHOOK_SIGNING_KEY"
        guard let text = reader.secret(variable) else { return [] }
        var keys: [AsymmetricSigningKey] = []
        let parts = text.split(separator: ",", omittingEmptySubsequences: false)
        for (offset, part) in parts.enumerated() {
            do {
                keys.append(try AsymmetricSigningKey(parsing: String(part)))
            } catch {
                let which = parts.count > 1 ? "key \(offset + 1) of \(parts.count): " : ""
                throw ConfigurationError(variable: variable, message: which + error.message)
            }
        }
        return keys
    }

    /// Reads WEBHOOK_ENDPOINTS_FILE and resolves every endpoint into `specs`, with every default
    /// applied. Errors are WEBHOOK_ENDPOINTS_FILE's and name the file, endpoint and field.
    ///
    /// With more than one endpoint in all and WEBHOOK_ENDPOINT_CONCURRENCY unset, the per-endpoint
    /// default becomes 3/4 of WEBHOOK_CONCURRENCY, as with several WEBHOOK_ADDRESS entries: this
    /// lowers `http.endpointConcurrency`. An endpoint's `concurrency` above WEBHOOK_CONCURRENCY
    /// is clamped with a warning; its `timeout` must stay below WEBHOOK_LEASE - 1 s.
    /// - Parameter readFile: reads the file at a path.
    mutating func resolveSpecs(_ reader: ConfigurationReader, http: inout HTTPConfiguration, lease: Double,
                               warnings: inout [String], readFile: (String) throws -> String) throws(ConfigurationError) {
        let variable = "WEBHOOK_ENDPOINTS_FILE"
        var text: String?
        if let file {
            do {
                text = try readFile(file)
            } catch {
                throw ConfigurationError(variable: variable, message: "\(file): cannot be read (\(error.localizedDescription))")
            }
        }
        let concurrency = http.concurrency
        var defaults = EndpointDefaults(secret: secret, compat: compat, timeout: http.timeout, concurrency: http.endpointConcurrency)
        defaults.signingKeys = signingKeys
        defaults.implicitOrdering = ordering
        let path = file ?? ""
        func resolve() throws(EndpointsFileError) -> (endpoints: [EndpointSpec], warnings: [String]) {
            let parsed = try text.map { (text) throws(EndpointsFileError) in try EndpointsFile.parse(text, file: path, defaults: defaults) }
            return try EndpointsFile.resolve(file: parsed, addresses: addresses, discordURL: discordURL,
                                             discordPerAdmin: discordPerAdmin, defaults: defaults)
        }
        do throws(EndpointsFileError) {
            var resolved = try resolve()
            if resolved.endpoints.count > 1, reader.string("WEBHOOK_ENDPOINT_CONCURRENCY") == nil,
               http.endpointConcurrency == concurrency, concurrency > 1 {
                http.endpointConcurrency = HTTPConfiguration.defaultEndpointConcurrency(concurrency,
                                                                                        endpoints: resolved.endpoints.count)
                defaults.concurrency = http.endpointConcurrency
                resolved = try resolve()
            }
            for index in resolved.endpoints.indices {
                let endpoint = resolved.endpoints[index]
                guard endpoint.timeout + 1 < lease else {
                    throw EndpointsFileError(file: path, endpoint: "'\(endpoint.name)'", field: "timeout",
                                             message: "\(endpoint.timeout) s must be below WEBHOOK_LEASE - 1 s (WEBHOOK_LEASE is \(lease) s: raise it or lower the timeout)")
                }
                if endpoint.concurrency > concurrency {
                    warnings.append("\(path): endpoint '\(endpoint.name)': field 'concurrency': \(endpoint.concurrency) exceeds WEBHOOK_CONCURRENCY=\(concurrency); using \(concurrency)")
                    resolved.endpoints[index].concurrency = concurrency
                }
            }
            // Deliveries and webhook-ids name an endpoint by its id: two that share one could
            // not be told apart (a 64-bit hash makes this all but impossible; it is still checked).
            let ids = resolved.endpoints.map { (name: $0.name, id: Target(spec: $0).id) }
            if let (first, second) = TargetDirectory.collisions(ids).first {
                throw EndpointsFileError(file: path, endpoint: "'\(second)'", field: "name",
                                         message: "its internal id is the same as endpoint '\(first)''s; rename one of them")
            }
            warnings += resolved.warnings
            specs = resolved.endpoints
        } catch {
            throw ConfigurationError(variable: variable, message: error.description)
        }
    }

    /// The retry variables; WEBHOOK_RETRY_SCHEDULE, when set, sets the number of retries.
    private static func retryPolicy(_ reader: ConfigurationReader, warnings: inout [String]) throws(ConfigurationError) -> RetryPolicy {
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
        return retry
    }

    private static func compatMode(_ reader: ConfigurationReader) throws(ConfigurationError) -> CompatMode {
        guard let text = reader.string("WEBHOOK_COMPAT") else { return .standard }
        guard let mode = CompatMode(rawValue: text.lowercased()) else {
            throw ConfigurationError(variable: "WEBHOOK_COMPAT", message: "expected 'standard' or 'marzban', got '\(text)'")
        }
        return mode
    }

    private static func looksLikeDiscord(_ url: String) -> Bool {
        ["https://discord.com/api/webhooks/", "https://discordapp.com/api/webhooks/",
         "https://ptb.discord.com/api/webhooks/", "https://canary.discord.com/api/webhooks/"]
            .contains { url.lowercased().hasPrefix($0) }
    }
}
