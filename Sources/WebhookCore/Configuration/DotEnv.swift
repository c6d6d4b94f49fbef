import Foundation

/// Reads `.env` files the way Marzban (python-decouple) does, plus inline comments:
///
///     # a comment
///     export KEY=value          # a comment after an unquoted value
///     KEY = "value with spaces" # quotes are removed, their content kept verbatim
///     KEY='single quoted'
///
/// Lines without `=` are ignored; a later line overrides an earlier one.
public enum DotEnv {
    public static func parse(_ text: String) -> [String: String] {
        var values: [String: String] = [:]
        for rawLine in text.split(omittingEmptySubsequences: true, whereSeparator: { $0 == "\n" || $0 == "\r\n" || $0 == "\r" }) {
            var line = rawLine.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") { continue }
            if line.hasPrefix("export ") || line.hasPrefix("export\t") {
                line = String(line.dropFirst(7)).trimmingCharacters(in: .whitespaces)
            }
            guard let equals = line.firstIndex(of: "=") else { continue }
            let key = line[..<equals].trimmingCharacters(in: .whitespaces)
            guard !key.isEmpty, key.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_" || $0 == ".") }) else {
                continue
            }
            values[key] = value(line[line.index(after: equals)...])
        }
        return values
    }

    private static func value(_ raw: Substring) -> String {
        let trimmed = raw.trimmingCharacters(in: .whitespaces)
        if let quote = trimmed.first, quote == "\"" || quote == "'" {
            // The closing quote is the last one followed only by whitespace or a comment.
            var candidate = trimmed.endIndex
            while let close = trimmed[trimmed.index(after: trimmed.startIndex)..<candidate].lastIndex(of: quote) {
                let rest = trimmed[trimmed.index(after: close)...].trimmingCharacters(in: .whitespaces)
                if rest.isEmpty || rest.hasPrefix("#") {
                    return String(trimmed[trimmed.index(after: trimmed.startIndex)..<close])
                }
                candidate = close
            }
            return trimmed  // unbalanced quote: taken literally, like decouple does
        }
        // In an unquoted value, "#" starts a comment only after whitespace (URLs and secrets
        // may contain "#").
        var previousIsSpace = false
        for index in raw.indices {
            let character = raw[index]
            if character == "#" && previousIsSpace {
                return raw[..<index].trimmingCharacters(in: .whitespaces)
            }
            previousIsSpace = character == " " || character == "\t"
        }
        return trimmed
    }
}
