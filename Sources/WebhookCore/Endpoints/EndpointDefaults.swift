/// The values an endpoint takes from the global configuration when the endpoints file does not
/// set them (WEBHOOK_SECRET, WEBHOOK_COMPAT, WEBHOOK_TIMEOUT, WEBHOOK_ENDPOINT_CONCURRENCY).
public struct EndpointDefaults: Sendable, Equatable {
    /// WEBHOOK_SECRET: signs webhook endpoints that name no `secret` or `secrets`.
    public var secret: String?
    /// WEBHOOK_SIGNING_KEY: signs standard-mode webhook endpoints that name no `signing_key`.
    public var signingKeys: [AsymmetricSigningKey] = []
    public var compat: CompatMode
    /// Seconds per request.
    public var timeout: Double
    /// Requests in flight per worker.
    public var concurrency: Int
    /// WEBHOOK_ORDERING=per-user: the ordering of the implicit webhook endpoints
    /// (WEBHOOK_ADDRESS); nil for none.
    public var implicitOrdering: OrderingSpec?

    public init(secret: String? = nil, compat: CompatMode = .standard, timeout: Double = 10, concurrency: Int = 64) {
        self.secret = secret
        self.compat = compat
        self.timeout = timeout
        self.concurrency = concurrency
    }
}
