/// What an endpoint is, and so what its requests look like (`kind:` in the endpoints file).
public enum EndpointKind: String, Sendable, Hashable, CaseIterable {
    /// A webhook receiver: the event itself, signed (the default).
    case webhook
    /// A Discord webhook: an embed built from the event, unsigned.
    case discord
    /// A Telegram chat: a `sendMessage` call of the Bot API with an HTML message.
    case telegram
}
