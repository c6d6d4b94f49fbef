/// One endpoint, fully resolved: every default applied, every value checked. Built by
/// ``EndpointsFile`` from the endpoints file and from WEBHOOK_ADDRESS / DISCORD_WEBHOOK_URL.
public struct EndpointSpec: Sendable, Equatable {
    /// Unique; names the endpoint in logs, metrics, Redis keys (rate limit, breaker) and dead
    /// letters. Letters, digits and `-_.:@` only, so it is safe in all of those.
    public var name: String
    public var kind: EndpointKind
    /// Where requests go: the webhook or Discord URL, or Telegram's `sendMessage` URL. May hold
    /// credentials (a Telegram token, a Discord webhook token, a password): show ``displayURL``.
    public var url: String
    /// Signing secrets, newest first: `webhook-signature` carries one `v1,` signature per secret
    /// and `x-webhook-secret` uses the first. Empty: unsigned (always so for Discord and Telegram).
    public var secrets: [String]
    /// Ed25519 signing keys, newest first: `webhook-signature` carries one `v1a,` signature per
    /// key, after any `v1,` ones. Only standard-mode webhook endpoints have them.
    public var signingKeys: [AsymmetricSigningKey] = []
    /// The actions this endpoint receives; nil means all. An empty set receives no events (an
    /// endpoint that only gets breaker announcements through `notify`).
    public var actions: Set<String>?
    /// The wire format of a webhook endpoint.
    public var compat: CompatMode
    /// Extra request headers, in file order.
    public var headers: [(name: String, value: String)]
    /// Seconds per request.
    public var timeout: Double
    /// Requests in flight per worker.
    public var concurrency: Int
    /// The fleet-wide limit; nil means unlimited. Discord and Telegram endpoints get their
    /// service's limit unless the file sets one.
    public var rate: RateLimit?
    /// Egress proxy (`http://`, `https://`, `socks5://`, `socks5h://`), for libcurl's
    /// CURLOPT_PROXY; nil goes direct. May hold credentials: show it through ``URLRedaction``.
    public var proxy: String?
    /// Endpoints told when this one's circuit breaker opens or closes.
    public var notify: [String]
    /// The bot and chat of a Telegram endpoint.
    public var telegram: TelegramTarget?
    /// True for endpoints made from WEBHOOK_ADDRESS or DISCORD_WEBHOOK_URL.
    public var isImplicit: Bool
    /// `egress: private-ok`: this endpoint may reach private and loopback addresses under
    /// WEBHOOK_EGRESS=private (a bot on localhost); never the metadata ranges.
    public var egressPrivateOK = false
    /// `drop_fields`: dotted paths removed from each body before it is signed (webhooks only).
    public var dropFields: [[String]] = []
    /// `url_from` (Discord) or `chat_id_from` (Telegram): the destination comes from each event,
    /// checked against the route's allow-list; nil for a fixed destination.
    public var route: EndpointRoute?
    /// `ordering: per-key` (with `order_key`, `order_max_block`): per-key ordered delivery;
    /// nil for the usual unordered delivery.
    public var ordering: OrderingSpec?

    public init(name: String, kind: EndpointKind, url: String, secrets: [String] = [], actions: Set<String>? = nil,
                compat: CompatMode = .standard, headers: [(name: String, value: String)] = [], timeout: Double = 10,
                concurrency: Int = 64, rate: RateLimit? = nil, proxy: String? = nil, notify: [String] = [],
                telegram: TelegramTarget? = nil, isImplicit: Bool = false) {
        self.name = name
        self.kind = kind
        self.url = url
        self.secrets = secrets
        self.actions = actions
        self.compat = compat
        self.headers = headers
        self.timeout = timeout
        self.concurrency = concurrency
        self.rate = rate
        self.proxy = proxy
        self.notify = notify
        self.telegram = telegram
        self.isImplicit = isImplicit
    }

    /// Whether an event with `action` creates a delivery to this endpoint.
    public func accepts(action: String) -> Bool {
        actions?.contains(action) ?? true
    }

    /// ``url`` with credentials masked, for logs and the `endpoints` command.
    public var displayURL: String { URLRedaction.redact(url) }

    /// ``proxy`` with credentials masked.
    public var displayProxy: String? { proxy.map(URLRedaction.redact) }

    /// The headers as libcurl takes them: complete `Name: value` lines.
    public var headerLines: [String] { headers.map { "\($0.name): \($0.value)" } }

    public static func == (a: EndpointSpec, b: EndpointSpec) -> Bool {
        a.name == b.name && a.kind == b.kind && a.url == b.url && a.secrets == b.secrets
            && a.signingKeys == b.signingKeys && a.actions == b.actions
            && a.compat == b.compat && a.headers.map(\.name) == b.headers.map(\.name)
            && a.headers.map(\.value) == b.headers.map(\.value) && a.timeout == b.timeout
            && a.concurrency == b.concurrency && a.rate == b.rate && a.proxy == b.proxy && a.notify == b.notify
            && a.telegram == b.telegram && a.isImplicit == b.isImplicit && a.egressPrivateOK == b.egressPrivateOK && a.dropFields == b.dropFields
            && a.route == b.route
            && a.ordering == b.ordering
    }
}
