/// The attempt log (`webhook-worker log`, the dashboard's deliveries): how much of it Redis
/// keeps. Read by the worker, which writes it; the cap is enforced with every write.
public struct AttemptLogConfiguration: Sendable, Equatable {
    /// WEBHOOK_LOG_MAX: records kept, newest first (100000; 0 turns the log off).
    public var maxRecords: Int
    /// WEBHOOK_LOG_MAX_AGE: records older than this many seconds are dropped too (default: no
    /// age limit). Checked at the log's old end with each write, so it holds within a write.
    public var maxAge: Double?

    public init(maxRecords: Int = 100_000, maxAge: Double? = nil) {
        self.maxRecords = maxRecords
        self.maxAge = maxAge
    }

    /// Whether records are written at all.
    public var isOn: Bool { maxRecords > 0 }

    /// `maxAge` in whole milliseconds (rounded up), as the settle scripts take it; 0 when there
    /// is no age limit or the log is off.
    public var maxAgeMillis: Int {
        guard isOn, let maxAge else { return 0 }
        return Int((maxAge * 1000).rounded(.up))
    }

    /// The defaults (on, 100000 records, no age limit).
    public static let `default` = AttemptLogConfiguration()

    static func load(_ reader: ConfigurationReader) throws(ConfigurationError) -> AttemptLogConfiguration {
        let maxRecords = try reader.integer("WEBHOOK_LOG_MAX", default: 100_000, range: 0...1_000_000_000)
        var maxAge: Double?
        if reader.string("WEBHOOK_LOG_MAX_AGE") != nil {
            maxAge = try reader.seconds("WEBHOOK_LOG_MAX_AGE", default: 0)
        }
        return AttemptLogConfiguration(maxRecords: maxRecords, maxAge: maxAge)
    }
}
