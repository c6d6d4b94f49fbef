/// Where a `kind: telegram` endpoint sends: one chat through one bot.
public struct TelegramTarget: Sendable, Hashable {
    /// The bot's token (`123456:ABC...`). Secret: it is part of the request URL, so that URL is
    /// only ever shown through ``URLRedaction``.
    public let botToken: String
    /// The chat: a numeric ID (negative for groups and channels) or `@channelname`.
    public let chatID: String
    /// The Bot API server, without a trailing slash (default `https://api.telegram.org`).
    public let apiURL: String

    /// The public Bot API server.
    public static let defaultAPIURL = "https://api.telegram.org"

    public init(botToken: String, chatID: String, apiURL: String = TelegramTarget.defaultAPIURL) {
        self.botToken = botToken
        self.chatID = chatID
        var base = apiURL
        while base.hasSuffix("/") { base.removeLast() }
        self.apiURL = base
    }

    /// `<api_url>/bot<token>/sendMessage`: the URL every message is POSTed to.
    public var sendMessageURL: String { "\(apiURL)/bot\(botToken)/sendMessage" }
}
