import Crypto

/// One configured receiver of events: an endpoint and how to talk to it.
///
/// Queue items name a target by `id`, never by URL: a worker delivers only to targets in its own
/// configuration, so nothing a producer writes into Redis can choose where a request goes, and
/// URLs (which may carry tokens) are never stored in Redis. A retry also carries a keyed
/// fingerprint of the URL it was made for (see ``TargetDirectory``), so that it is never sent to
/// another URL.
///
/// A class, immutable: every attempt and request names its target, and copying a struct of a
/// dozen strings and arrays cost a dozen reference-count updates per copy (it showed in
/// profiles); a reference costs one.
public final class Target: Hashable, Sendable {
    public let kind: EndpointKind
    /// Where requests go (for Telegram, the sendMessage URL with the bot token).
    public let url: String
    /// Stable, URL-free identifier, 64 bits of SHA-256 in hex after a letter: for an implicit
    /// endpoint (`WEBHOOK_ADDRESS`, `DISCORD_WEBHOOK_URL`) the kind letter and the hash of kind
    /// and URL (`w3f2a09c1d4e5f607`); for a named endpoint of the endpoints file, `n` and the hash
    /// of its name. 64 bits, because the 32-bit hash of earlier releases let two names share an
    /// id (`ep-55c567fd` and `ep-3ac7628c`), and one endpoint's retries went to the other; a
    /// configuration whose ids still collide is refused at start-up
    /// (``TargetDirectory/collisions(_:)``).
    public let id: String
    /// `id` as a dictionary key, hashed once (see `HashedKey`).
    public let key: HashedKey
    /// `breakerKey` as a dictionary key, hashed once.
    public let breakerHashedKey: HashedKey
    /// The hash of `id` and `destination`, what `hash(into:)` feeds (computed once, for the
    /// same reason as `key`).
    private let identityHash: Int
    /// The ids earlier releases (and the implicit form of this URL) gave this endpoint, so that
    /// retries already in Redis, and retries of an endpoint moved from `WEBHOOK_ADDRESS` into the
    /// endpoints file, still find it: the 32-bit ids of kind and URL and, for a named endpoint,
    /// of its name; and the implicit id of its URL.
    public let aliases: [String]
    /// The endpoint's name (logs, metrics, `endpoints`, dead letters).
    public let name: String
    /// Everything the endpoints file says about it (implicit endpoints have defaults).
    public let spec: EndpointSpec?
    /// The header lines every request to it sends alike, `Content-Type: application/json`
    /// (every kind posts JSON) then the endpoint's own (`Name: value`), as the bytes a
    /// request's header block holds (each line ended by a line feed). Rendered once, and copied
    /// into each request's own block: the HTTP thread reads no string (and counts no reference)
    /// that every request to the endpoint shares with the dispatcher.
    public let headerBytes: [UInt8]
    /// For an endpoint routed by the event (`url_from`, `chat_id_from`): the destination one
    /// event resolved to (a Discord URL, a Telegram chat ID), already checked against the
    /// route's allow-list; nil for every other target.
    public let destination: String?
    /// What the endpoint's circuit breaker is keyed by: its name, or for a resolved destination
    /// the name, `:` and 64 bits of SHA-256 of the destination, so one reseller's dead webhook
    /// does not hold back the others' (and no URL or token reaches a Redis key).
    public let breakerKey: String

    private static let jsonOnly = ["Content-Type: application/json"]

    private static func lineBytes(_ lines: [String]) -> [UInt8] {
        lines.flatMap { Array($0.utf8) + [UInt8(ascii: "\n")] }
    }

    public init(kind: EndpointKind, url: String) {
        self.kind = kind
        self.url = url
        self.id = Self.implicitID(kind: kind, url: url)
        self.aliases = [Self.legacyImplicitID(kind: kind, url: url)]
        self.name = kind == .discord ? "discord" : URLRedaction.redact(url)
        self.spec = nil
        self.headerBytes = Self.lineBytes(Self.jsonOnly)
        self.destination = nil
        self.breakerKey = self.name
        self.key = HashedKey(id)
        self.breakerHashedKey = HashedKey(breakerKey)
        self.identityHash = Self.identityHash(id: id, destination: nil)
    }

    public init(spec: EndpointSpec) {
        let kind = spec.kind
        self.kind = kind
        self.url = spec.url
        if spec.isImplicit {
            self.id = Self.implicitID(kind: kind, url: spec.url)
            self.aliases = [Self.legacyImplicitID(kind: kind, url: spec.url)]
        } else {
            self.id = "n" + Self.wideHash(spec.name)
            self.aliases = ["n" + Self.fnv1a(spec.name), Self.implicitID(kind: kind, url: spec.url),
                            Self.legacyImplicitID(kind: kind, url: spec.url)]
        }
        self.name = spec.name
        self.spec = spec
        self.headerBytes = Self.lineBytes(Self.jsonOnly + spec.headerLines)
        self.destination = nil
        self.breakerKey = spec.name
        self.key = HashedKey(id)
        self.breakerHashedKey = HashedKey(breakerKey)
        self.identityHash = Self.identityHash(id: id, destination: nil)
    }

    /// This routed endpoint with the destination one event names: same id, name and settings
    /// (retries, dead letters and metrics are the endpoint's), another URL or chat.
    private init(_ base: Target, destination: String) {
        var spec = base.spec!
        switch base.kind {
        case .telegram:
            let bot = spec.telegram!
            spec.telegram = TelegramTarget(botToken: bot.botToken, chatID: destination, apiURL: bot.apiURL)
        case .discord, .webhook:
            spec.url = destination
        }
        kind = base.kind
        url = spec.url
        id = base.id
        aliases = base.aliases
        name = base.name
        self.spec = spec
        headerBytes = base.headerBytes
        self.destination = destination
        breakerKey = base.name + ":" + Self.wideHash(base.kind.letter + destination)
        key = base.key
        breakerHashedKey = HashedKey(breakerKey)
        identityHash = Self.identityHash(id: id, destination: destination)
    }

    /// The target for `destination` (see ``EndpointRoute``); only for a routed endpoint.
    public func resolved(to destination: String) -> Target {
        precondition(spec?.route != nil, "only an endpoint with url_from or chat_id_from resolves a destination")
        return Target(self, destination: destination)
    }

    /// The text a delivery's URL fingerprint covers: the URL, and for a resolved Telegram chat
    /// the chat too, so a retry goes only to the destination it was made for.
    public var fenceText: String {
        kind == .telegram && destination != nil ? url + "\n" + destination! : url
    }

    public static func == (a: Target, b: Target) -> Bool {
        a === b || (a.id == b.id && a.url == b.url && a.destination == b.destination)
    }
    public func hash(into hasher: inout Hasher) {
        hasher.combine(identityHash)
    }

    private static func identityHash(id: String, destination: String?) -> Int {
        var hasher = Hasher()
        hasher.combine(id)
        // A routed endpoint's destinations share its id: without this they would share one
        // hash bucket (the request builder's lanes are keyed by target).
        if let destination { hasher.combine(destination) }
        return hasher.finalize()
    }

    /// Whether this target takes events with `action` (the endpoint's `actions` filter).
    public func accepts(_ action: String) -> Bool { spec?.accepts(action: action) ?? true }

    /// The URL as logs, the CLI and metrics may show it (see `URLRedaction`).
    public var redactedURL: String { URLRedaction.redact(url) }

    /// The id of an implicit endpoint for this kind and URL.
    static func implicitID(kind: EndpointKind, url: String) -> String {
        kind.letter + wideHash(kind.letter + url)
    }

    /// The id an implicit endpoint had before ids were widened (32-bit FNV-1a).
    static func legacyImplicitID(kind: EndpointKind, url: String) -> String {
        kind.letter + fnv1a(kind.letter + url)
    }

    /// 16 lowercase hex digits: the first 64 bits of the SHA-256 of `text`.
    static func wideHash(_ text: String) -> String {
        Hex.string(SHA256.hash(data: Array(text.utf8)).prefix(8))
    }

    /// 8 lowercase hex digits of the FNV-1a 32-bit hash of `text`: the ids of earlier releases,
    /// still recognised in items they left in Redis.
    static func fnv1a(_ text: String) -> String {
        var hash: UInt32 = 2_166_136_261
        for byte in text.utf8 { hash = (hash ^ UInt32(byte)) &* 16_777_619 }
        let hex = String(hash, radix: 16)
        return String(repeating: "0", count: 8 - hex.count) + hex
    }
}
