/// The worker's HTTP client: how long a request may take and how many run at once. These are the
/// defaults of every endpoint; an endpoints file may set `timeout` and `concurrency` per endpoint.
public struct HTTPConfiguration: Sendable {
    /// WEBHOOK_TIMEOUT: seconds per request (10).
    public var timeout: Double
    /// WEBHOOK_CONCURRENCY: requests in flight per worker (64).
    public var concurrency: Int
    /// WEBHOOK_ENDPOINT_CONCURRENCY: requests in flight per endpoint (default: `concurrency` with
    /// one endpoint, else 3/4 of it, so one slow endpoint cannot take every slot). Never above
    /// `concurrency`.
    public var endpointConcurrency: Int
    /// WEBHOOK_EGRESS (`metadata`, `private` or `off`; default `metadata`) and
    /// WEBHOOK_EGRESS_ALLOW (CIDRs, comma-separated): the addresses no endpoint may connect to.
    public var egress = EgressPolicy(mode: .metadata)
    /// WEBHOOK_CA_FILE: a PEM file of CA certificates that endpoints' (and https proxies')
    /// certificates are verified with, in place of libcurl's default bundle file; nil for that
    /// bundle. For endpoints behind a private CA: verification stays on, it trusts that CA.
    public var caFile: String? = nil

    /// - Parameter endpoints: the implicit endpoints (WEBHOOK_ADDRESS and DISCORD_WEBHOOK_URL),
    ///   which choose `endpointConcurrency`'s default. The endpoints file may lower it later (see
    ///   ``EndpointsConfiguration/resolveSpecs(_:http:lease:warnings:readFile:)``).
    /// - Parameter readFile: reads WEBHOOK_CA_FILE, checked here so a wrong path stops start-up
    ///   instead of failing every https delivery.
    static func load(_ reader: ConfigurationReader, endpoints: Int, warnings: inout [String],
                     readFile: (String) throws -> String) throws(ConfigurationError) -> HTTPConfiguration {
        let timeout = try reader.seconds("WEBHOOK_TIMEOUT", default: 10)
        let concurrency = try reader.integer("WEBHOOK_CONCURRENCY", default: 64, range: 1...100_000)
        var endpointConcurrency = try reader.integer("WEBHOOK_ENDPOINT_CONCURRENCY",
                                                     default: defaultEndpointConcurrency(concurrency, endpoints: endpoints),
                                                     range: 1...100_000)
        if endpointConcurrency > concurrency {
            warnings.append("WEBHOOK_ENDPOINT_CONCURRENCY=\(endpointConcurrency) exceeds WEBHOOK_CONCURRENCY=\(concurrency); using \(concurrency)")
            endpointConcurrency = concurrency
        }
        var http = HTTPConfiguration(timeout: timeout, concurrency: concurrency, endpointConcurrency: endpointConcurrency,
                                     caFile: try caFile(reader, readFile: readFile))
        http.egress = try egressPolicy(reader)
        return http
    }

    static func egressPolicy(_ reader: ConfigurationReader) throws(ConfigurationError) -> EgressPolicy {
        let modeText = reader.string("WEBHOOK_EGRESS")?.lowercased() ?? "metadata"
        guard let mode = EgressPolicy.Mode(rawValue: modeText) else {
            throw ConfigurationError(variable: "WEBHOOK_EGRESS", message: "expected metadata, private or off, got '\(modeText)'")
        }
        var allow: [CIDR] = []
        for part in (reader.string("WEBHOOK_EGRESS_ALLOW") ?? "").split(separator: ",") {
            let text = part.trimmingCharacters(in: .whitespaces)
            guard !text.isEmpty else { continue }
            guard let range = CIDR(text) else {
                throw ConfigurationError(variable: "WEBHOOK_EGRESS_ALLOW", message: "expected CIDR ranges like 10.0.0.0/8 or fd00::/8, got '\(text)'")
            }
            allow.append(range)
        }
        return EgressPolicy(mode: mode, allow: allow)
    }

    /// WEBHOOK_CA_FILE, which must be readable and hold at least one PEM certificate.
    private static func caFile(_ reader: ConfigurationReader,
                               readFile: (String) throws -> String) throws(ConfigurationError) -> String? {
        guard let path = reader.string("WEBHOOK_CA_FILE") else { return nil }
        let text: String
        do {
            text = try readFile(path)
        } catch {
            throw ConfigurationError(variable: "WEBHOOK_CA_FILE", message: "cannot read '\(path)': \(error.localizedDescription)")
        }
        guard text.contains("-----BEGIN CERTIFICATE-----") else {
            throw ConfigurationError(variable: "WEBHOOK_CA_FILE", message: "'\(path)' holds no PEM certificate (-----BEGIN CERTIFICATE-----)")
        }
        return path
    }

    /// WEBHOOK_ENDPOINT_CONCURRENCY's default: all of `concurrency` for one endpoint, 3/4 of it
    /// for several.
    static func defaultEndpointConcurrency(_ concurrency: Int, endpoints: Int) -> Int {
        endpoints <= 1 ? concurrency : max(1, concurrency * 3 / 4)
    }
}
