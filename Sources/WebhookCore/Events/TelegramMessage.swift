import Foundation

/// Builds the Telegram Bot API `sendMessage` body for an event, in the spirit of Marzban's own
/// Telegram reports: a hashtag title per action, the user, what changed (status, usage, expiry)
/// and who did it. `parse_mode` is HTML, so every value taken from the event is HTML-escaped
/// and clipped: an event can neither inject markup nor push the text past Telegram's
/// 4,096-character limit.
public enum TelegramMessage {
    /// Title per action (emoji and hashtag, as Marzban's reports have them).
    static let titles: [String: String] = [
        "user_created": "🆕 #Created",
        "user_updated": "✏️ #Modified",
        "user_deleted": "🗑 #Deleted",
        "user_limited": "🪫 #Limited",
        "user_expired": "📅 #Expired",
        "user_enabled": "☑️ #Enabled",
        "user_disabled": "❌ #Disabled",
        "data_usage_reset": "🔁 #Reset",
        "data_reset_by_next": "🔁 #AutoRenew",
        "subscription_revoked": "📵 #Revoked",
        "reached_usage_percent": "⚠️ #UsageThreshold",
        "reached_days_left": "⏳ #ExpiryApproaching",
    ]
    static let rule = "➖➖➖➖➖➖➖➖➖"
    /// Longest value shown (characters, before escaping); the longest text stays far below 4,096.
    static let maxValue = 256
    /// Longest `reason` shown.
    static let maxReason = 1024

    /// The JSON body to POST to `<api_url>/bot<token>/sendMessage`:
    /// `{"chat_id":"…","text":"…","parse_mode":"HTML"}`.
    public static func body(for event: Event, chatID: String) -> [UInt8] {
        body(for: EventSummary(event), chatID: chatID)
    }

    /// The body for an event already summarised (see ``EventSummary``).
    public static func body(for summary: EventSummary, chatID: String) -> [UInt8] {
        var out: [UInt8] = []
        out.append(contentsOf: #"{"chat_id":"#.utf8)
        JSONWriter.appendString(chatID, to: &out)
        out.append(contentsOf: #","text":"#.utf8)
        JSONWriter.appendString(text(for: summary), to: &out)
        out.append(contentsOf: #","parse_mode":"HTML"}"#.utf8)
        return out
    }

    /// The message text (Telegram HTML).
    public static func text(for event: Event) -> String {
        text(for: EventSummary(event))
    }

    /// The message text (Telegram HTML) of an event already summarised.
    public static func text(for summary: EventSummary) -> String {
        let title = titles[summary.action].map { "<b>\($0)</b>" } ?? "ℹ️ <b>\(escape(clip(summary.action)))</b>"
        var lines = [title, rule, "<b>Username:</b> \(code(summary.username))"]
        for row in summary.rows { lines.append("<b>\(row.label):</b> \(code(row.value))") }
        if let reason = summary.reason { lines.append("<b>Reason:</b> \(escape(clip(reason, maxReason)))") }

        var footer: [String] = []
        if let actor = summary.actor { footer.append("<b>By:</b> \(code(actor))") }
        if let owner = summary.owner { footer.append("<b>Belongs to:</b> \(code(owner))") }
        if !footer.isEmpty { lines += [rule] + footer }
        return lines.joined(separator: "\n")
    }

    /// Seconds to wait from Telegram's 429 answer,
    /// `{"ok":false,"error_code":429,"parameters":{"retry_after":N}}`; nil when the body has no
    /// usable `parameters.retry_after` (a number >= 0).
    public static func retryAfter(_ body: [UInt8]) -> Double? {
        guard let object = (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any],
              let parameters = object["parameters"] as? [String: Any],
              let seconds = SummaryFormat.number(parameters["retry_after"]), seconds >= 0
        else { return nil }
        return seconds
    }

    /// Escapes the characters Telegram's HTML parse mode reads as markup: `& < > "`.
    public static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for character in text {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            default: out.append(character)
            }
        }
        return out
    }

    private static func code(_ value: String) -> String {
        "<code>\(escape(clip(value)))</code>"
    }

    private static func clip(_ text: String, _ limit: Int = maxValue) -> String {
        text.count <= limit ? text : String(text.prefix(limit - 1)) + "…"
    }
}
