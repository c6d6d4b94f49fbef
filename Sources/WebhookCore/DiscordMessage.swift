import Foundation

/// Builds the Discord webhook body for an event, in Marzban's style:
/// `{"content":"","embeds":[{"title","description","footer":{"text"},"color"}]}`.
public enum DiscordMessage {
    /// Title and colour per action (colours are Marzban's).
    static let styles: [String: (title: String, color: Int)] = [
        "user_created": (":new: Created", 65280),
        "user_updated": (":pencil2: Modified", 65535),
        "user_deleted": (":wastebasket: Deleted", 16711680),
        "user_limited": (":warning: Limited", 16295848),
        "user_expired": (":clock5: Expired", 16503693),
        "user_enabled": (":white_check_mark: Enabled", 10151604),
        "user_disabled": (":no_entry: Disabled", 4344665),
        "data_usage_reset": (":repeat: Data Usage Reset", 65535),
        "data_reset_by_next": (":repeat: Data Reset By Next Plan", 65535),
        "subscription_revoked": (":x: Subscription Revoked", 16711680),
        "reached_usage_percent": (":warning: Usage Threshold Reached", 16295848),
        "reached_days_left": (":hourglass: Expiry Approaching", 16295848),
    ]
    /// The colour of actions this table does not know (Discord's grey).
    static let neutralColor = 9807270

    /// The JSON body to POST to the Discord webhook for `event`.
    public static func body(for event: Event) -> [UInt8] {
        let fields = (try? JSONSerialization.jsonObject(with: Data(event.bytes))) as? [String: Any] ?? [:]
        let user = fields["user"] as? [String: Any]
        let style = styles[event.action] ?? (title: event.action, color: neutralColor)

        var lines = ["**Username:** \(markdown(event.username))"]
        if let user {
            if let status = user["status"] as? String { lines.append("**Status:** \(markdown(status))") }
            if user.keys.contains("data_limit") { lines.append("**Data limit:** \(size(user["data_limit"], zero: "Unlimited"))") }
            if user.keys.contains("used_traffic") { lines.append("**Used traffic:** \(size(user["used_traffic"], zero: "0 B"))") }
            if user.keys.contains("expire") { lines.append("**Expire:** \(date(user["expire"]))") }
        }
        if let percent = number(fields["used_percent"]) { lines.append("**Used:** \(plain(percent))%") }
        if let days = number(fields["days_left"]) { lines.append("**Days left:** \(plain(days))") }
        if let reason = fields["reason"] as? String, !reason.isEmpty { lines.append("**Reason:** \(markdown(reason))") }

        let footer: String
        if let by = (fields["by"] as? [String: Any])?["username"] as? String {
            footer = "By \(by)"
        } else if let admin = (user?["admin"] as? [String: Any])?["username"] as? String {
            footer = "Belongs To: \(admin)"
        } else {
            footer = event.action
        }

        var out: [UInt8] = []
        out.append(contentsOf: #"{"content":"","embeds":[{"title":"#.utf8)
        JSONWriter.appendString(String(style.title.prefix(256)), to: &out)
        out.append(contentsOf: #","description":"#.utf8)
        JSONWriter.appendString(String(lines.joined(separator: "\n").prefix(4096)), to: &out)
        out.append(contentsOf: #","footer":{"text":"#.utf8)
        JSONWriter.appendString(String(footer.prefix(2048)), to: &out)
        out.append(contentsOf: #"},"color":"#.utf8)
        JSONWriter.appendInt(style.color, to: &out)
        out.append(contentsOf: "}]}".utf8)
        return out
    }

    /// Escapes Discord Markdown so names like `a_b_c` are shown as written, and flattens line
    /// breaks so a value cannot add lines of its own to the description.
    static func markdown(_ text: String) -> String {
        var out = ""
        for character in text {
            if character.isNewline { out.append(" "); continue }
            if "\\*_~`|".contains(character) { out.append("\\") }
            out.append(character)
        }
        return out
    }

    private static func number(_ value: Any?) -> Double? {
        guard let value, !(value is String), let number = value as? NSNumber else { return nil }
        return number.doubleValue
    }

    /// A number as text. Never converts an out-of-range Double to Int (that traps, and one such
    /// event would crash every worker that takes it): whole numbers below 1e15 print as
    /// integers, others with two decimals or, when huge, in exponent form.
    static func plain(_ value: Double) -> String {
        guard value.isFinite else { return value.isNaN ? "NaN" : (value > 0 ? "inf" : "-inf") }
        if value == value.rounded() && abs(value) < 1e15 { return String(Int64(value)) }
        return abs(value) < 1e15 ? String(format: "%.2f", value) : String(format: "%.3g", value)
    }

    /// A byte count in binary units ("10 GB"); null or 0 shows `zero`.
    static func size(_ value: Any?, zero: String) -> String {
        guard let bytes = number(value), bytes > 0 else { return zero }
        let units = ["B", "KB", "MB", "GB", "TB", "PB"]
        var amount = bytes, unit = 0
        while amount >= 1024 && unit < units.count - 1 {
            amount /= 1024
            unit += 1
        }
        return "\(plain(amount)) \(units[unit])"
    }

    /// A Unix time as `YYYY-MM-DD HH:MM:SS UTC`; null or 0 is "Never".
    static func date(_ value: Any?) -> String {
        // The range check comes before the Int conversion below (years 1970 to 9999).
        guard let seconds = number(value), seconds.isFinite, seconds > 0, seconds < 253_402_300_800 else { return "Never" }
        let total = Int(seconds)
        let days = total / 86_400, secondOfDay = total % 86_400
        // Howard Hinnant's days-to-civil algorithm (proleptic Gregorian, UTC).
        let shifted = days + 719_468
        let era = shifted / 146_097
        let dayOfEra = shifted - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthIndex = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * monthIndex + 2) / 5 + 1
        let month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        func two(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }
        return "\(year)-\(two(month))-\(two(day)) \(two(secondOfDay / 3600)):\(two(secondOfDay / 60 % 60)):\(two(secondOfDay % 60)) UTC"
    }
}
