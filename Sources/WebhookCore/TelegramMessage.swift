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
        var out: [UInt8] = []
        out.append(contentsOf: #"{"chat_id":"#.utf8)
        JSONWriter.appendString(chatID, to: &out)
        out.append(contentsOf: #","text":"#.utf8)
        JSONWriter.appendString(text(for: event), to: &out)
        out.append(contentsOf: #","parse_mode":"HTML"}"#.utf8)
        return out
    }

    /// The message text (Telegram HTML).
    public static func text(for event: Event) -> String {
        let fields = (try? JSONSerialization.jsonObject(with: Data(event.bytes))) as? [String: Any] ?? [:]
        let user = fields["user"] as? [String: Any]
        let title = titles[event.action].map { "<b>\($0)</b>" } ?? "ℹ️ <b>\(escape(clip(event.action)))</b>"

        var lines = [title, rule, "<b>Username:</b> <code>\(escape(clip(event.username)))</code>"]
        if let user {
            if let status = user["status"] as? String { lines.append("<b>Status:</b> \(code(status))") }
            if user.keys.contains("data_limit") {
                lines.append("<b>Data limit:</b> <code>\(size(user["data_limit"], zero: "Unlimited"))</code>")
            }
            if user.keys.contains("used_traffic") {
                lines.append("<b>Used traffic:</b> <code>\(size(user["used_traffic"], zero: "0 B"))</code>")
            }
            if user.keys.contains("expire") { lines.append("<b>Expire:</b> <code>\(DiscordMessage.date(user["expire"]))</code>") }
        }
        if let percent = number(fields["used_percent"]) { lines.append("<b>Used:</b> <code>\(DiscordMessage.plain(percent))%</code>") }
        if let days = number(fields["days_left"]) { lines.append("<b>Days left:</b> <code>\(DiscordMessage.plain(days))</code>") }
        if let reason = fields["reason"] as? String, !reason.isEmpty {
            lines.append("<b>Reason:</b> \(escape(clip(reason, maxReason)))")
        }

        var footer: [String] = []
        if let by = (fields["by"] as? [String: Any])?["username"] as? String { footer.append("<b>By:</b> \(code(by))") }
        if let admin = (user?["admin"] as? [String: Any])?["username"] as? String {
            footer.append("<b>Belongs to:</b> \(code(admin))")
        }
        if !footer.isEmpty { lines += [rule] + footer }
        return lines.joined(separator: "\n")
    }

    /// Seconds to wait from Telegram's 429 answer,
    /// `{"ok":false,"error_code":429,"parameters":{"retry_after":N}}`; nil when the body has no
    /// usable `parameters.retry_after` (a number >= 0).
    public static func retryAfter(_ body: [UInt8]) -> Double? {
        guard let object = (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any],
              let parameters = object["parameters"] as? [String: Any],
              let seconds = number(parameters["retry_after"]), seconds >= 0
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

    /// A JSON number (not a string, not a boolean) as a Double; never traps, whatever its size.
    private static func number(_ value: Any?) -> Double? {
        // A JSON boolean is an NSNumber too, of Objective-C type "c" (`is Bool` would also
        // match the numbers 0 and 1).
        guard let value, !(value is String), let number = value as? NSNumber,
              String(cString: number.objCType) != "c" else { return nil }
        let double = number.doubleValue
        return double.isFinite ? double : nil
    }

    /// A byte count in binary units ("10 GB", "1.50 GB"); null, 0 or negative shows `zero`.
    static func size(_ value: Any?, zero: String) -> String {
        guard let bytes = number(value), bytes > 0 else { return zero }
        let units = ["B", "KB", "MB", "GB", "TB", "PB", "EB"]
        var amount = bytes, unit = 0
        while amount >= 1024 && unit < units.count - 1 {
            amount /= 1024
            unit += 1
        }
        return "\(DiscordMessage.plain(amount)) \(units[unit])"
    }
}
