import Foundation

/// Reads typed values out of the variable map for ``Configuration/load(_:readFile:)`` and the
/// components' loaders; every failure names its variable. An empty (or all-whitespace) value
/// counts as unset.
struct ConfigurationReader {
    let variables: [String: String]

    /// The trimmed value, nil when unset or empty.
    func string(_ name: String) -> String? {
        guard let value = variables[name]?.trimmingCharacters(in: .whitespacesAndNewlines), !value.isEmpty else { return nil }
        return value
    }

    /// The untrimmed value of a secret, nil when unset or blank.
    func secret(_ name: String) -> String? {
        guard let value = variables[name], !value.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else { return nil }
        return value
    }

    /// A duration in seconds: "30", "0.5", or with a unit ("250ms", "5s", "5m", "2h").
    func seconds(_ name: String, default fallback: Double, allowZero: Bool = false) throws(ConfigurationError) -> Double {
        guard let text = string(name) else { return fallback }
        guard let value = Self.duration(text), allowZero ? value >= 0 : value > 0 else {
            let kind = allowZero ? "a number of seconds >= 0" : "a positive number of seconds"
            throw ConfigurationError(variable: name, message: "expected \(kind), got '\(text)'")
        }
        return value
    }

    func integer(_ name: String, default fallback: Int, range: ClosedRange<Int>) throws(ConfigurationError) -> Int {
        guard let text = string(name) else { return fallback }
        guard let value = Int(text), range.contains(value) else {
            let bounds = range.upperBound == Int.max ? "an integer >= \(range.lowerBound)"
                : "an integer from \(range.lowerBound) to \(range.upperBound)"
            throw ConfigurationError(variable: name, message: "expected \(bounds), got '\(text)'")
        }
        return value
    }

    /// A comma-separated list of durations, e.g. "5s,5m,30m,2h".
    /// `true`/`false` (also 1/0, yes/no, on/off).
    func boolean(_ name: String, default fallback: Bool) throws(ConfigurationError) -> Bool {
        guard let text = string(name) else { return fallback }
        switch text.lowercased() {
        case "true", "1", "yes", "on": return true
        case "false", "0", "no", "off": return false
        default: throw ConfigurationError(variable: name, message: "expected true or false, got '\(text)'")
        }
    }

    func schedule(_ name: String) throws(ConfigurationError) -> [Double]? {
        guard let text = string(name) else { return nil }
        var delays: [Double] = []
        for part in text.split(separator: ",", omittingEmptySubsequences: false) {
            let item = part.trimmingCharacters(in: .whitespaces)
            guard let value = Self.duration(item), value >= 0 else {
                throw ConfigurationError(variable: name,
                                         message: "expected comma-separated durations like '5s,5m,30m,2h', got '\(item)' in '\(text)'")
            }
            delays.append(value)
        }
        return delays
    }

    /// Whether `text` holds a line break or another control character (a tab excepted): what a
    /// value sent in a header line must not hold (it would end the line and start another).
    static func hasLineBreakOrControl(_ text: String) -> Bool {
        text.unicodeScalars.contains { $0.value < 0x20 && $0 != "\t" || $0.value == 0x7F }
    }

    /// A word usable in Redis key names: no whitespace or control characters.
    func name(_ name: String) throws(ConfigurationError) -> String? {
        guard let text = string(name) else { return nil }
        guard text.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value != 0x7F }) else {
            throw ConfigurationError(variable: name, message: "must not contain spaces or control characters, got '\(text)'")
        }
        return text
    }

    /// An http(s) URL with a host and no whitespace. Credentials in it are never echoed.
    static func httpURL(_ text: String, variable: String) throws(ConfigurationError) -> String {
        let lowered = text.lowercased()
        guard lowered.hasPrefix("http://") || lowered.hasPrefix("https://") else {
            throw ConfigurationError(variable: variable, message: "expected an http:// or https:// URL, got '\(redacted(text))'")
        }
        guard !text.unicodeScalars.contains(where: { $0.properties.isWhitespace || $0.value < 0x20 || $0.value == 0x7F }) else {
            throw ConfigurationError(variable: variable, message: "URL contains whitespace or control characters: '\(redacted(text))'")
        }
        guard URLAuthority.hasHost(text) else {
            throw ConfigurationError(variable: variable, message: "URL has no host: '\(redacted(text))'")
        }
        return text
    }

    /// `text` with what may carry a credential in a URL replaced by `***`: the `user:password@`
    /// part, every query value (`?token=***&a=***`), the fragment, and the token of a Discord
    /// webhook path (`/api/webhooks/<id>/***`). Scheme, host, port and path stay readable.
    static func redacted(_ text: String) -> String {
        URLRedaction.redact(text)
    }

    /// Parses "30", "0.5", "250ms", "5s", "5m", "2h", "1d" into seconds (see `DurationText`).
    static func duration(_ text: String) -> Double? {
        DurationText.seconds(text)
    }
}
