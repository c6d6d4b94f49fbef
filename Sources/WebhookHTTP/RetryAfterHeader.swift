/// Parses `Retry-After: <seconds>` header lines, keeping fractional seconds that curl's own
/// CURLINFO_RETRY_AFTER truncates. HTTP dates are left to curl.
enum RetryAfterHeader {
    private static let name = Array("retry-after:".utf8)

    /// Whether `line` (raw header bytes) is a Retry-After header, whatever its value.
    static func isRetryAfter(_ line: UnsafeRawBufferPointer) -> Bool {
        // The first byte before the name: reading the static name costs a `swift_once` check,
        // and this runs for every header line of every answer.
        guard let first = line.first, first | 0x20 == UInt8(ascii: "r"), line.count > name.count else { return false }
        for index in 0..<name.count where line[index] | 0x20 != name[index] | 0x20 {
            return false
        }
        return true
    }

    /// The delay in seconds of a Retry-After line (raw header bytes, CRLF included) with a
    /// numeric value; nil for another value. The caller has checked the name (`isRetryAfter`):
    /// it is not checked twice per header line.
    static func seconds(ofRetryAfterLine line: UnsafeRawBufferPointer) -> Double? {
        var value = line[name.count...].drop { $0 == 0x20 || $0 == 0x09 }
        while let last = value.last, last == 0x20 || last == 0x09 || last == 0x0D || last == 0x0A {
            value = value.dropLast()
        }
        guard !value.isEmpty,
              value.allSatisfy({ ($0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9")) || $0 == UInt8(ascii: ".") }),
              let seconds = Double(String(decoding: value, as: UTF8.self)), seconds.isFinite
        else { return nil }
        return seconds
    }
}
