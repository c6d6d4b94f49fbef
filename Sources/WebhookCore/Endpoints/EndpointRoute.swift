/// Where an endpoint of the endpoints file takes its destination from the event: a Discord
/// endpoint's URL (`url_from: user.admin.discord_webhook`) or a Telegram endpoint's chat
/// (`chat_id_from: user.admin.telegram_id`). Marzban reports each event to the Discord webhook
/// of the admin who owns the user, besides the global one; this is how the worker does the same.
///
/// The value is untrusted: whoever may edit an admin in the panel writes it. A URL must match
/// the endpoint's allow-list (``allowedURLs``; by default a Discord webhook URL, as Marzban's own
/// validator requires), a chat must look like a chat ID; anything else is refused with the reason,
/// and the request is never made. Pure: the ledger resolves each event with it.
public struct EndpointRoute: Sendable, Equatable {
    /// The dotted path as written (`user.admin.discord_webhook`).
    public let field: String
    /// Its keys, from the top level.
    public let path: [String]
    /// `allowed_urls`: URL prefixes a Discord URL from the event must start with; nil means a
    /// Discord webhook URL (``isDiscordWebhookURL(_:)``). Unused for Telegram.
    public let allowedURLs: [String]?

    /// What one event makes of the route.
    public enum Resolution: Sendable, Equatable {
        /// The field is absent, null or empty: this endpoint gets nothing for the event (counted,
        /// not a failure).
        case skip
        /// The field holds something that must not be used; the delivery becomes a dead letter
        /// with this reason.
        case refuse(String)
        /// Send here: a URL (Discord) or a chat ID (Telegram).
        case destination(String)
    }

    /// The field Marzban fills with the owning admin's Discord webhook (WEBHOOK_DISCORD_PER_ADMIN).
    public static let adminDiscordField = "user.admin.discord_webhook"

    public init?(field: String, allowedURLs: [String]? = nil) {
        guard let path = DroppedFields.path(field) else { return nil }
        self.field = field
        self.path = path
        self.allowedURLs = allowedURLs
    }

    /// The destination `event` names for an endpoint of `kind`.
    public func resolve(_ event: Event, kind: EndpointKind) -> Resolution {
        guard let (value, valueKind) = Self.value(at: path, in: event.bytes) else { return .skip }
        switch valueKind {
        case .null: return .skip
        case .string, .number: break
        default: return .refuse("\(field) is a JSON \(valueKind.rawValue), not a \(kind == .telegram ? "chat ID" : "URL")")
        }
        let text: String
        if valueKind == .string {
            guard let decoded = JSONScanner.decodeString(event.bytes, value) else { return .refuse("\(field) is not a valid string") }
            text = decoded
        } else {
            text = String(decoding: event.bytes[value], as: UTF8.self)
        }
        if text.isEmpty { return .skip }
        switch kind {
        case .telegram:
            guard Self.isChatID(text) else {
                return .refuse("\(field) is not a Telegram chat ID (digits, optionally negative); not sent")
            }
            return .destination(text)
        case .discord, .webhook:
            if let refusal = refusal(url: text) { return .refuse(refusal) }
            return .destination(text)
        }
    }

    /// Why `url` may not be used, or nil when it matches the allow-list. The URL itself is not
    /// repeated (it is a credential); the reason names the rule.
    public func refusal(url: String) -> String? {
        guard Self.isPlainHTTPURL(url) else {
            return "\(field) is not a plain http(s) URL (credentials, whitespace, backslashes or dot segments); not sent"
        }
        guard let allowed = allowedURLs else {
            return Self.isDiscordWebhookURL(url) ? nil
                : "\(field) is not a Discord webhook URL (https://discord.com/api/webhooks/<id>/<token>); not sent"
        }
        for prefix in allowed where Self.url(url, startsWith: prefix) { return nil }
        return "\(field) does not start with any of the endpoint's allowed_urls; not sent"
    }

    /// `https://discord.com/api/webhooks/<id>/<token>` (or `discordapp.com`): what Marzban's
    /// admin form accepts. No port, credentials, query or fragment.
    public static func isDiscordWebhookURL(_ url: String) -> Bool {
        for host in ["https://discord.com/api/webhooks/", "https://discordapp.com/api/webhooks/"] where url.hasPrefix(host) {
            let parts = url.dropFirst(host.count).split(separator: "/", omittingEmptySubsequences: false)
            guard parts.count == 2 else { return false }
            return !parts[0].isEmpty && parts[0].count <= 24 && parts[0].allSatisfy { $0.isASCII && $0.isNumber }
                && !parts[1].isEmpty && parts[1].count <= 128
                && parts[1].allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") }
        }
        return false
    }

    /// `url` starts with `prefix` at a boundary: the prefix ends with `/`, or the URL continues
    /// with `/`, `?` or nothing. So `https://hooks.example` does not admit
    /// `https://hooks.example.evil/` nor `https://hooks.example@evil/`.
    static func url(_ url: String, startsWith prefix: String) -> Bool {
        guard url.hasPrefix(prefix) else { return false }
        if prefix.hasSuffix("/") { return true }
        guard let next = url.dropFirst(prefix.count).first else { return true }
        return next == "/" || next == "?"
    }

    /// An http(s) URL with a host, no credentials, no whitespace, control characters or
    /// backslashes, no `.`/`..` path segments (spelled or percent-encoded): what a prefix check
    /// can judge without a URL parser disagreeing with libcurl's.
    static func isPlainHTTPURL(_ url: String) -> Bool {
        let lower = url.lowercased()
        guard lower.hasPrefix("https://") || lower.hasPrefix("http://") else { return false }
        guard !url.unicodeScalars.contains(where: { !$0.isASCII || $0.value <= 0x20 || $0.value == 0x7F || $0 == "\\" }) else { return false }
        let rest = url[url.range(of: "://")!.upperBound...]
        let authority = rest.prefix { $0 != "/" && $0 != "?" && $0 != "#" }
        guard !authority.isEmpty, !authority.contains("@") else { return false }
        let path = rest.dropFirst(authority.count).prefix { $0 != "?" && $0 != "#" }
        for segment in path.split(separator: "/", omittingEmptySubsequences: false) {
            let decoded = segment.lowercased().replacingOccurrences(of: "%2e", with: ".")
            if decoded == "." || decoded == ".." { return false }
        }
        return true
    }

    /// `123`, `-1001234567890`: Marzban's `telegram_id` is a number.
    static func isChatID(_ text: String) -> Bool {
        let digits = text.hasPrefix("-") ? text.dropFirst() : Substring(text)
        return !digits.isEmpty && digits.count <= 20 && digits.allSatisfy { $0.isASCII && $0.isNumber }
    }

    /// The range and kind of the value at `path` in the JSON object `bytes`; nil when a key is
    /// missing or something on the way is not an object. The last duplicate key wins, as the
    /// event grammar reads `action`.
    static func value(at path: [String], in bytes: [UInt8]) -> (Range<Int>, JSONKind)? {
        var range = 0..<bytes.count
        var kind = JSONKind.object
        for key in path {
            guard kind == .object, let document = try? JSONScanner.scan(bytes[range]), let member = document.member(key) else { return nil }
            let base = range.lowerBound
            range = (base + member.valueRange.lowerBound)..<(base + member.valueRange.upperBound)
            kind = member.kind
        }
        return (range, kind)
    }
}
