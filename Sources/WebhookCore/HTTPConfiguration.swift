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

    /// - Parameter endpoints: the implicit endpoints (WEBHOOK_ADDRESS and DISCORD_WEBHOOK_URL),
    ///   which choose `endpointConcurrency`'s default. The endpoints file may lower it later (see
    ///   ``EndpointsConfiguration/resolveSpecs(_:http:lease:warnings:readFile:)``).
    static func load(_ reader: ConfigurationReader, endpoints: Int,
                     warnings: inout [String]) throws(ConfigurationError) -> HTTPConfiguration {
        let timeout = try reader.seconds("WEBHOOK_TIMEOUT", default: 10)
        let concurrency = try reader.integer("WEBHOOK_CONCURRENCY", default: 64, range: 1...100_000)
        var endpointConcurrency = try reader.integer("WEBHOOK_ENDPOINT_CONCURRENCY",
                                                     default: defaultEndpointConcurrency(concurrency, endpoints: endpoints),
                                                     range: 1...100_000)
        if endpointConcurrency > concurrency {
            warnings.append("WEBHOOK_ENDPOINT_CONCURRENCY=\(endpointConcurrency) exceeds WEBHOOK_CONCURRENCY=\(concurrency); using \(concurrency)")
            endpointConcurrency = concurrency
        }
        return HTTPConfiguration(timeout: timeout, concurrency: concurrency, endpointConcurrency: endpointConcurrency)
    }

    /// WEBHOOK_ENDPOINT_CONCURRENCY's default: all of `concurrency` for one endpoint, 3/4 of it
    /// for several.
    static func defaultEndpointConcurrency(_ concurrency: Int, endpoints: Int) -> Int {
        endpoints <= 1 ? concurrency : max(1, concurrency * 3 / 4)
    }
}
