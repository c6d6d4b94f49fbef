/// A strict RFC 8259 validator that records only the top-level structure of its input.
///
/// It runs once for every event a worker takes, so it never materialises values: it checks
/// the grammar, the UTF-8 encoding (no overlongs, no encoded surrogates, nothing above
/// U+10FFFF), forbids raw control characters in strings and limits nesting to ``maxDepth``.
/// Escaped lone surrogates (`"\ud800"`) are accepted, as the RFC grammar allows them.
/// Whitespace around the value is fine; anything else after it is rejected.
public enum JSONScanner {
    /// The deepest nesting of objects and arrays accepted.
    public static let maxDepth = 256

    /// Scans `bytes` as one JSON text.
    public static func scan(_ bytes: [UInt8]) throws(JSONScanError) -> JSONDocument {
        let result: Result<JSONDocument, JSONScanError> = bytes.withUnsafeBufferPointer { buffer in
            do throws(JSONScanError) { return .success(try scan(buffer)) } catch { return .failure(error) }
        }
        return try result.get()
    }

    /// Scans a slice; ranges in the result are relative to the slice's first byte.
    public static func scan(_ bytes: ArraySlice<UInt8>) throws(JSONScanError) -> JSONDocument {
        let result: Result<JSONDocument, JSONScanError> = bytes.withUnsafeBufferPointer { buffer in
            do throws(JSONScanError) { return .success(try scan(buffer)) } catch { return .failure(error) }
        }
        return try result.get()
    }

    /// Scans raw memory; ranges in the result are offsets from `buffer.baseAddress`.
    public static func scan(_ buffer: UnsafeBufferPointer<UInt8>) throws(JSONScanError) -> JSONDocument {
        var scanner = ByteScanner(buffer)
        return try scanner.document()
    }

    /// Whether `bytes` is a JSON text, without recording anything.
    public static func isValid(_ bytes: [UInt8]) -> Bool {
        (try? scan(bytes)) != nil
    }

    /// Whether `bytes` is well-formed UTF-8 (RFC 3629).
    public static func isValidUTF8(_ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBufferPointer { buffer in
            var index = 0
            while index < buffer.count {
                if buffer[index] < 0x80 { index += 1; continue }
                guard let next = ByteScanner.endOfUTF8Sequence(buffer, at: index) else { return false }
                index = next
            }
            return true
        }
    }

    /// Decodes the JSON string literal at `range` (quotes included) into a `String`.
    ///
    /// Returns nil when the range does not hold a quoted literal or an escape is malformed.
    /// Escaped lone surrogates become U+FFFD, since a Swift `String` cannot hold them.
    public static func decodeString(_ bytes: [UInt8], _ range: Range<Int>) -> String? {
        guard range.lowerBound >= 0, range.upperBound <= bytes.count, range.count >= 2,
              bytes[range.lowerBound] == UInt8(ascii: "\""), bytes[range.upperBound - 1] == UInt8(ascii: "\"")
        else { return nil }
        let inner = bytes[(range.lowerBound + 1)..<(range.upperBound - 1)]
        guard inner.contains(UInt8(ascii: "\\")) else { return String(decoding: inner, as: UTF8.self) }
        return StringUnescaper.unescape(inner)
    }
}
