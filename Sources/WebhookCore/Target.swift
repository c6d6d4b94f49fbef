/// What kind of receiver a delivery goes to.
public enum TargetKind: String, Sendable, Hashable {
    /// A webhook endpoint: receives the event itself.
    case webhook = "w"
    /// A Discord webhook: receives an embed built from the event.
    case discord = "d"
    /// A Telegram chat: receives a `sendMessage` built from the event.
    case telegram = "t"

    /// The word used in dead letters, logs and the CLI.
    public var name: String {
        switch self {
        case .webhook: return "webhook"
        case .discord: return "discord"
        case .telegram: return "telegram"
        }
    }

    init(_ kind: EndpointKind) {
        switch kind {
        case .webhook: self = .webhook
        case .discord: self = .discord
        case .telegram: self = .telegram
        }
    }
}

/// One configured receiver of events: an endpoint and how to talk to it.
///
/// Queue items name a target by `id`, never by URL: a worker delivers only to targets in its own
/// configuration, so nothing a producer writes into Redis can choose where a request goes, and
/// URLs (which may carry tokens) are never stored in Redis.
///
/// A class, immutable: every attempt and request names its target, and copying a struct of a
/// dozen strings and arrays cost a dozen reference-count updates per copy (it showed in
/// profiles); a reference costs one.
public final class Target: Hashable, Sendable {
    public let kind: TargetKind
    /// Where requests go (for Telegram, the sendMessage URL with the bot token).
    public let url: String
    /// Stable, URL-free identifier: for an implicit endpoint (`WEBHOOK_ADDRESS`,
    /// `DISCORD_WEBHOOK_URL`) the kind letter and the FNV-1a 32-bit hash of kind and URL
    /// (`w3f2a09c1`); for a named endpoint of the endpoints file, `n` and the hash of its name, so
    /// that pending retries survive a URL change.
    public let id: String
    /// The endpoint's name (logs, metrics, `endpoints`, dead letters).
    public let name: String
    /// Everything the endpoints file says about it (implicit endpoints have defaults).
    public let spec: EndpointSpec?
    /// The endpoint's extra header lines (`Name: value`), rendered once.
    public let headerLines: [String]

    public init(kind: TargetKind, url: String) {
        self.kind = kind
        self.url = url
        self.id = kind.rawValue + Self.fnv1a(kind.rawValue + url)
        self.name = kind == .discord ? "discord" : URLRedaction.redact(url)
        self.spec = nil
        self.headerLines = []
    }

    public init(spec: EndpointSpec) {
        let kind = TargetKind(spec.kind)
        self.kind = kind
        self.url = spec.url
        self.id = spec.isImplicit ? kind.rawValue + Self.fnv1a(kind.rawValue + spec.url) : "n" + Self.fnv1a(spec.name)
        self.name = spec.name
        self.spec = spec
        self.headerLines = spec.headerLines
    }

    public static func == (a: Target, b: Target) -> Bool { a.id == b.id && a.url == b.url }
    public func hash(into hasher: inout Hasher) { hasher.combine(id) }

    /// Whether this target takes events with `action` (the endpoint's `actions` filter).
    public func accepts(_ action: String) -> Bool { spec?.accepts(action: action) ?? true }

    /// The URL as logs, the CLI and metrics may show it (see `URLRedaction`).
    public var redactedURL: String { URLRedaction.redact(url) }

    /// 8 lowercase hex digits of the FNV-1a 32-bit hash of `text`.
    static func fnv1a(_ text: String) -> String {
        var hash: UInt32 = 2_166_136_261
        for byte in text.utf8 { hash = (hash ^ UInt32(byte)) &* 16_777_619 }
        let hex = String(hash, radix: 16)
        return String(repeating: "0", count: 8 - hex.count) + hex
    }
}
