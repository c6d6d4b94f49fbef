/// What an endpoint is, and so what its requests look like (`kind:` in the endpoints file).
public enum EndpointKind: String, Sendable, Hashable, CaseIterable {
    /// A webhook receiver: the event itself, signed (the default).
    case webhook
    /// A Discord webhook: an embed built from the event, unsigned.
    case discord
    /// A Telegram chat: a `sendMessage` call of the Bot API with an HTML message.
    case telegram

    /// The one-letter code of the kind inside stored and hashed values: the implicit target ids
    /// (`w3f2a09c1d4e5f607`), the URL fingerprints retries carry, and routed breaker keys.
    /// Never change one: retries already in Redis and breaker state are keyed by them.
    public var letter: String {
        switch self {
        case .webhook: return "w"
        case .discord: return "d"
        case .telegram: return "t"
        }
    }
}
