/// LOG_FORMAT: how log lines are written to standard error.
public enum LogFormat: String, Sendable, CaseIterable {
    /// swift-log's plain lines, for people at a terminal (the default).
    case text
    /// One JSON object per line (`time`, `level`, `message`, `label`, metadata fields), for log
    /// shippers.
    case json

    /// LOG_FORMAT from the variable map: `text` when unset or blank, case-insensitive.
    /// - Throws: naming LOG_FORMAT for any other value.
    public static func load(_ variables: [String: String]) throws(ConfigurationError) -> LogFormat {
        guard let text = ConfigurationReader(variables: variables).string("LOG_FORMAT") else { return .text }
        guard let format = LogFormat(rawValue: text.lowercased()) else {
            throw ConfigurationError(variable: "LOG_FORMAT", message: "expected 'text' or 'json', got '\(text)'")
        }
        return format
    }
}
