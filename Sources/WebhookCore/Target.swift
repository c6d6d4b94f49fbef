/// What kind of receiver a delivery goes to.
public enum TargetKind: String, Sendable, Hashable {
    /// An endpoint of `WEBHOOK_ADDRESS`: receives the event itself.
    case webhook = "w"
    /// `DISCORD_WEBHOOK_URL`: receives an embed built from the event.
    case discord = "d"

    /// The word used in dead letters, logs and the CLI.
    public var name: String {
        switch self {
        case .webhook: return "webhook"
        case .discord: return "discord"
        }
    }
}

/// One configured receiver of events: an endpoint URL and how to talk to it.
///
/// Queue items name a target by `id`, never by URL: a worker delivers only to targets in its own
/// configuration, so nothing a producer writes into Redis can choose where a request goes, and
/// URLs (which may carry tokens) are never stored in Redis.
public struct Target: Hashable, Sendable {
    public let kind: TargetKind
    public let url: String
    /// Stable, URL-free identifier: the kind letter and the FNV-1a 32-bit hash of kind and URL
    /// (e.g. `w3f2a09c1`). The same configuration gives the same id on every worker.
    public let id: String

    public init(kind: TargetKind, url: String) {
        self.kind = kind
        self.url = url
        self.id = kind.rawValue + Self.fnv1a(kind.rawValue + url)
    }

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
