import Foundation

/// What a chat message (a Discord embed, a Telegram text) shows of an event: decoded once from
/// the event's JSON and formatted once (``SummaryFormat``), so both services show the same values
/// the same way, whichever panel sent the event. The messages only add their own markup and
/// escaping around it.
///
/// Marzban and PasarGuard describe a user alike, except for dates: Marzban writes `user.expire`
/// as Unix seconds (0 or null: never), PasarGuard as an ISO 8601 string
/// (`"2027-01-02T06:34:41Z"`, null: never). Both are read (``SummaryFormat/expiry(_:)``).
public struct EventSummary: Sendable, Equatable {
    /// One labelled value, as plain text (not yet escaped for any markup).
    public struct Row: Sendable, Equatable {
        public let label: String
        public let value: String
    }

    public let action: String
    public let username: String
    /// In order, each only when the event has it: Status, Data limit, Used traffic, Expire (from
    /// `user`), then Used and Days left (from the event).
    public let rows: [Row]
    /// The event's non-empty `reason`.
    public let reason: String?
    /// `by.username`: the admin who acted.
    public let actor: String?
    /// `user.admin.username`: the admin the user belongs to.
    public let owner: String?

    public init(_ event: Event) {
        let fields = (try? JSONSerialization.jsonObject(with: Data(event.bytes))) as? [String: Any] ?? [:]
        let user = fields["user"] as? [String: Any]
        var rows: [Row] = []
        if let user {
            if let status = user["status"] as? String { rows.append(Row(label: "Status", value: status)) }
            if user.keys.contains("data_limit") {
                rows.append(Row(label: "Data limit", value: SummaryFormat.size(user["data_limit"], zero: "Unlimited")))
            }
            if user.keys.contains("used_traffic") {
                rows.append(Row(label: "Used traffic", value: SummaryFormat.size(user["used_traffic"], zero: "0 B")))
            }
            if user.keys.contains("expire") { rows.append(Row(label: "Expire", value: SummaryFormat.expiry(user["expire"]))) }
        }
        if let percent = SummaryFormat.number(fields["used_percent"]) {
            rows.append(Row(label: "Used", value: SummaryFormat.plain(percent) + "%"))
        }
        if let days = SummaryFormat.number(fields["days_left"]) {
            rows.append(Row(label: "Days left", value: SummaryFormat.plain(days)))
        }
        action = event.action
        username = event.username
        self.rows = rows
        reason = (fields["reason"] as? String).flatMap { $0.isEmpty ? nil : $0 }
        actor = (fields["by"] as? [String: Any])?["username"] as? String
        owner = (user?["admin"] as? [String: Any])?["username"] as? String
    }
}
