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
        body(for: EventSummary(event))
    }

    /// The JSON body for an event already summarised (see ``EventSummary``).
    public static func body(for summary: EventSummary) -> [UInt8] {
        let style = styles[summary.action] ?? (title: summary.action, color: neutralColor)
        var lines = ["**Username:** \(markdown(summary.username))"]
        for row in summary.rows { lines.append("**\(row.label):** \(markdown(row.value))") }
        if let reason = summary.reason { lines.append("**Reason:** \(markdown(reason))") }

        let footer: String
        if let actor = summary.actor {
            footer = "By \(actor)"
        } else if let owner = summary.owner {
            footer = "Belongs To: \(owner)"
        } else {
            footer = summary.action
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
}
