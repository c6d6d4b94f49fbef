/// Which attempt-log records to show: every set field must match (filters combine). Pure, so
/// `webhook-worker log` and the dashboard filter alike.
public struct AttemptFilter: Sendable, Equatable {
    /// The endpoint's name, exactly.
    public var endpoint: String?
    /// The record's `user`, exactly.
    public var user: String?
    public var webhookID: String?
    public var action: String?
    public var outcome: AttemptOutcome?
    /// Only records at or after this time (Unix ms).
    public var since: UInt64?

    public init(endpoint: String? = nil, user: String? = nil, webhookID: String? = nil, action: String? = nil,
                outcome: AttemptOutcome? = nil, since: UInt64? = nil) {
        self.endpoint = endpoint
        self.user = user
        self.webhookID = webhookID
        self.action = action
        self.outcome = outcome
        self.since = since
    }

    /// No condition: every record matches.
    public static let all = AttemptFilter()

    public func matches(_ record: AttemptRecord) -> Bool {
        if let endpoint, record.endpoint != endpoint { return false }
        if let user, record.user != user { return false }
        if let webhookID, record.webhookID != webhookID { return false }
        if let action, record.action != action { return false }
        if let outcome, record.outcome != outcome { return false }
        if let since, record.time < since { return false }
        return true
    }

    /// `since` for "the last `seconds`" at `nowMillis` (Unix ms).
    public static func since(seconds: Double, nowMillis: UInt64) -> UInt64 {
        let back = UInt64(max(0, min(seconds * 1000, Double(nowMillis))))
        return nowMillis - back
    }
}
