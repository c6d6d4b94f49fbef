import Crypto

/// Whose rate limit a target's requests count against, fleet-wide.
///
/// A webhook endpoint's `rate:` is the operator's own limit for that endpoint, so it is kept per
/// endpoint name. Discord and Telegram limit each destination (a Discord webhook, a bot's chat):
/// two endpoints that point at the same one share one limit, or each would get the service's
/// full rate and together exceed it. Their scope is a digest of the destination, which never
/// puts a webhook token or bot token into a Redis key.
public enum RateScope: Sendable, Hashable {
    /// A webhook endpoint, by name.
    case endpoint(String)
    /// A Discord webhook or Telegram chat: 32 hex digits of SHA-256 over kind, URL and chat.
    case destination(String)

    public init(_ target: Target) {
        switch target.kind {
        case .webhook:
            self = .endpoint(target.name)
        case .discord, .telegram:
            var text = target.kind.rawValue + "\n" + target.url
            if let chat = target.spec?.telegram?.chatID { text += "\n" + chat }
            self = .destination(Hex.string(Array(SHA256.hash(data: Array(text.utf8))).prefix(16)))
        }
    }
}
