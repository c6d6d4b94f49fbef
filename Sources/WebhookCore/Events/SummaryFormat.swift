import Foundation

/// The one formatter of the values chat messages show (``EventSummary``): numbers, byte counts
/// and dates. Values come from producers, so nothing here traps, whatever the size or type of a
/// value: a value of the wrong type is not shown as if it were right.
public enum SummaryFormat {
    /// A JSON number (not a string, not a boolean) as a finite Double; nil otherwise.
    static func number(_ value: Any?) -> Double? {
        // A JSON boolean is an NSNumber too, of Objective-C type "c" (`is Bool` would also
        // match the numbers 0 and 1).
        guard let value, !(value is String), let number = value as? NSNumber,
              String(cString: number.objCType) != "c" else { return nil }
        let double = number.doubleValue
        return double.isFinite ? double : nil
    }

    /// A number as text. Never converts an out-of-range Double to Int (that traps, and one such
    /// event would crash every worker that takes it): whole numbers below 1e15 print as
    /// integers, others with two decimals or, when huge, in exponent form.
    static func plain(_ value: Double) -> String {
        guard value.isFinite else { return value.isNaN ? "NaN" : (value > 0 ? "inf" : "-inf") }
        if value == value.rounded() && abs(value) < 1e15 { return String(Int64(value)) }
        return abs(value) < 1e15 ? String(format: "%.2f", value) : String(format: "%.3g", value)
    }

    /// A byte count in binary units ("10 GB", "1.50 GB"); null, 0, negative or not a number
    /// shows `zero`.
    static func size(_ value: Any?, zero: String) -> String {
        guard let bytes = number(value), bytes > 0 else { return zero }
        let units = ["B", "KB", "MB", "GB", "TB", "PB", "EB"]
        var amount = bytes, unit = 0
        while amount >= 1024 && unit < units.count - 1 {
            amount /= 1024
            unit += 1
        }
        return "\(plain(amount)) \(units[unit])"
    }

    /// A user's expiry, as either panel writes it:
    /// - Marzban: Unix seconds; null, 0 (or negative) mean never.
    /// - PasarGuard: an ISO 8601 / RFC 3339 date-time (`2027-01-02T06:34:41Z`, with or without
    ///   fractional seconds or a `±HH:MM` offset; without a zone it is UTC, as PasarGuard stores
    ///   it); null or "" mean never.
    ///
    /// Shown as `YYYY-MM-DD HH:MM:SS UTC` or `Never`. A string that is not a date is shown as
    /// written, and any other type as "unreadable": neither is "Never", which would claim the
    /// user never expires.
    public static func expiry(_ value: Any?) -> String {
        switch value {
        case nil, is NSNull:
            return "Never"
        case let text as String:
            let trimmed = text.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty { return "Never" }
            guard let seconds = isoSeconds(trimmed) else { return text }
            return utc(Int64(seconds.rounded(.down)))
        default:
            if let seconds = number(value) { return unixDate(seconds) }
            return "unreadable"
        }
    }

    /// Unix seconds as `YYYY-MM-DD HH:MM:SS UTC`; 0 or less, or past the year 9999, is "Never"
    /// (Marzban's never is 0 or null).
    public static func unixDate(_ seconds: Double) -> String {
        // The range check comes before the integer conversion (years 1970 to 9999).
        guard seconds.isFinite, seconds > 0, seconds < 253_402_300_800 else { return "Never" }
        return utc(Int64(seconds))
    }

    /// Seconds since the Unix epoch of an ISO 8601 date or date-time; nil when `text` is not one.
    /// Accepted: `YYYY-MM-DD`, then optionally `T` (or a space) `HH:MM[:SS[.fraction]]`, then
    /// optionally `Z` or an offset `±HH:MM` / `±HHMM` / `±HH`. Years 0001 to 9999.
    public static func isoSeconds(_ text: String) -> Double? {
        let bytes = Array(text.utf8)
        var index = 0
        func digits(_ count: Int) -> Int? {
            guard index + count <= bytes.count else { return nil }
            var value = 0
            for byte in bytes[index..<index + count] {
                guard byte >= 0x30, byte <= 0x39 else { return nil }
                value = value * 10 + Int(byte - 0x30)
            }
            index += count
            return value
        }
        func take(_ character: Character) -> Bool {
            guard index < bytes.count, bytes[index] == character.asciiValue else { return false }
            index += 1
            return true
        }
        guard let year = digits(4), take("-"), let month = digits(2), take("-"), let day = digits(2),
              year >= 1, (1...12).contains(month), day >= 1, day <= daysIn(month: month, year: year)
        else { return nil }
        var hour = 0, minute = 0, second = 0, fraction = 0.0, offset = 0
        if index < bytes.count {
            guard take("T") || take("t") || take(" ") else { return nil }
            guard let h = digits(2), take(":"), let m = digits(2), h <= 23, m <= 59 else { return nil }
            hour = h
            minute = m
            if take(":") {
                guard let s = digits(2), s <= 60 else { return nil }  // 60: a leap second
                second = min(s, 59)
                if take(".") || take(",") {
                    let start = index
                    var scale = 0.1
                    while index < bytes.count, bytes[index] >= 0x30, bytes[index] <= 0x39 {
                        fraction += Double(bytes[index] - 0x30) * scale
                        scale /= 10
                        index += 1
                    }
                    guard index > start else { return nil }
                }
            }
            if take("Z") || take("z") {
                // UTC
            } else if index < bytes.count {
                let sign: Int
                if take("+") { sign = 1 } else if take("-") { sign = -1 } else { return nil }
                guard let offsetHours = digits(2), offsetHours <= 23 else { return nil }
                var offsetMinutes = 0
                if index < bytes.count {
                    _ = take(":")
                    guard let m = digits(2), m <= 59 else { return nil }
                    offsetMinutes = m
                }
                offset = sign * (offsetHours * 3600 + offsetMinutes * 60)
            }
        }
        guard index == bytes.count else { return nil }
        let days = daysFromCivil(year: year, month: month, day: day)
        return Double(days * 86_400 + hour * 3600 + minute * 60 + second - offset) + fraction
    }

    /// Seconds since the epoch (any sign) as `YYYY-MM-DD HH:MM:SS UTC`.
    private static func utc(_ seconds: Int64) -> String {
        let days = Int(seconds.floorDivided(by: 86_400)), secondOfDay = Int(seconds - Int64(days) * 86_400)
        let (year, month, day) = civil(fromDays: days)
        func two(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }
        let paddedYear = String(repeating: "0", count: max(0, 4 - String(year).count)) + String(year)
        return "\(paddedYear)-\(two(month))-\(two(day)) \(two(secondOfDay / 3600)):\(two(secondOfDay / 60 % 60)):\(two(secondOfDay % 60)) UTC"
    }

    private static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    /// Howard Hinnant's days-from-civil (proleptic Gregorian): days since 1970-01-01.
    private static func daysFromCivil(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    /// Howard Hinnant's civil-from-days, the inverse of `daysFromCivil`.
    private static func civil(fromDays days: Int) -> (year: Int, month: Int, day: Int) {
        let shifted = days + 719_468
        let era = (shifted >= 0 ? shifted : shifted - 146_096) / 146_097
        let dayOfEra = shifted - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthIndex = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * monthIndex + 2) / 5 + 1
        let month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }
}

private extension Int64 {
    /// Division rounding toward negative infinity (Swift's `/` rounds toward zero).
    func floorDivided(by divisor: Int64) -> Int64 {
        let quotient = self / divisor
        return (self % divisor != 0 && (self < 0) != (divisor < 0)) ? quotient - 1 : quotient
    }
}
