import Foundation

/// A fleet-wide request rate for one endpoint: at most `count` requests in any window of
/// `period` seconds, with no burst above it (the Redis GCRA spaces requests `period / count`
/// apart). Written `N/s` or `N/m` in the endpoints file.
public struct RateLimit: Sendable, Hashable, CustomStringConvertible {
    /// The unit of a rate: per second or per minute.
    public enum Period: Sendable, Hashable {
        case second
        case minute

        /// The window length in seconds.
        public var seconds: Double {
            switch self {
            case .second: return 1
            case .minute: return 60
            }
        }
    }

    /// Requests allowed per period (at least 1).
    public let count: Int
    public let period: Period

    /// nil when `count` is below 1.
    public init?(count: Int, per period: Period) {
        guard count >= 1 else { return nil }
        self.count = count
        self.period = period
    }

    /// Parses `N/s` or `N/m` (also `N/sec`, `N/min`, spaces around the slash allowed); nil for
    /// anything else, including N below 1 or above a million per period.
    public init?(parsing text: String) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2 else { return nil }
        let number = parts[0].trimmingCharacters(in: .whitespaces)
        let unit = parts[1].trimmingCharacters(in: .whitespaces).lowercased()
        guard !number.isEmpty, number.allSatisfy({ $0.isASCII && $0.isNumber }), number.count <= 7,
              let count = Int(number), (1...1_000_000).contains(count) else { return nil }
        switch unit {
        case "s", "sec", "second": self.init(count: count, per: .second)
        case "m", "min", "minute": self.init(count: count, per: .minute)
        default: return nil
        }
    }

    /// Seconds between two requests: the GCRA emission interval.
    public var interval: Double { period.seconds / Double(count) }

    /// The window length in seconds.
    public var periodSeconds: Double { period.seconds }

    /// `20/s`, `30/m`.
    public var description: String { "\(count)/\(period == .second ? "s" : "m")" }

    /// Discord's per-webhook limit. Discord answers 5 requests per 2 s per webhook in its
    /// headers, but also limits each channel's webhook messages to about 30 a minute; spacing
    /// requests 2 s apart keeps under both without relying on 429 answers.
    public static let discordDefault = RateLimit(count: 30, per: .minute)!

    /// Telegram's limit for one chat: about one message a second to a private chat, 20 a minute
    /// to a group or channel (chat IDs below zero, or `@channel` names).
    public static func telegramDefault(chatID: String) -> RateLimit {
        let isGroup = chatID.hasPrefix("-") || chatID.hasPrefix("@")
        return isGroup ? RateLimit(count: 20, per: .minute)! : RateLimit(count: 1, per: .second)!
    }
}
