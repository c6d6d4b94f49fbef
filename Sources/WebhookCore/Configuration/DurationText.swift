/// Durations as operators write them: `30` (seconds), `0.5`, `250ms`, `5s`, `10m`, `2h`, `7d`.
/// One grammar for the duration variables (`WEBHOOK_LEASE`, `WEBHOOK_LOG_MAX_AGE`, ...) and the
/// CLI (`log --since 10m`).
public enum DurationText {
    private static let units: [(suffix: String, factor: Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600), ("d", 86_400)]

    /// Seconds, or nil when `text` is not a non-negative decimal number with an optional unit.
    public static func seconds(_ text: String) -> Double? {
        var number = Substring(text.lowercased())
        var factor = 1.0
        for unit in units where number.hasSuffix(unit.suffix) {
            number = number.dropLast(unit.suffix.count)
            factor = unit.factor
            break
        }
        guard !number.isEmpty, number.contains(where: \.isNumber),
              number.allSatisfy({ ($0.isASCII && $0.isNumber) || $0 == "." }),
              let value = Double(number), value.isFinite
        else { return nil }
        return value * factor
    }
}
