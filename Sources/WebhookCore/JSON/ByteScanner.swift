/// The engine behind ``JSONScanner``: a recursive-descent validator over raw memory.
///
/// The hot loops index an `UnsafeBufferPointer` (bounds checked only in debug builds) and
/// allocate nothing except the top-level member/element arrays and member keys.
struct ByteScanner {
    private let bytes: UnsafeBufferPointer<UInt8>
    private let count: Int
    private var index = 0

    init(_ bytes: UnsafeBufferPointer<UInt8>) {
        self.bytes = bytes
        self.count = bytes.count
    }

    /// Scans the whole input as one JSON text.
    mutating func document() throws(JSONScanError) -> JSONDocument {
        skipWhitespace()
        guard index < count else { throw error(count == 0 ? "empty input" : "no JSON value") }
        let start = index
        var members: [JSONMember] = []
        var elements: [Range<Int>] = []
        let kind: JSONKind
        switch bytes[index] {
        case UInt8(ascii: "{"):
            members.reserveCapacity(8)  // one allocation for a typical event, not one per doubling
            try object(depth: 1, members: &members, record: true)
            kind = .object
        case UInt8(ascii: "["):
            try array(depth: 1, elements: &elements, record: true)
            kind = .array
        default:
            kind = try value(depth: 0)
        }
        let end = index
        skipWhitespace()
        if index < count { throw error("\(describe(bytes[index])) after the JSON value") }
        return JSONDocument(kind: kind, members: members, elements: elements, range: start..<end)
    }

    // MARK: Values

    private mutating func value(depth: Int) throws(JSONScanError) -> JSONKind {
        guard index < count else { throw error("unexpected end of input") }
        switch bytes[index] {
        case UInt8(ascii: "{"):
            var unused: [JSONMember] = []
            try object(depth: depth + 1, members: &unused, record: false)
            return .object
        case UInt8(ascii: "["):
            var unused: [Range<Int>] = []
            try array(depth: depth + 1, elements: &unused, record: false)
            return .array
        case UInt8(ascii: "\""):
            _ = try string()
            return .string
        case UInt8(ascii: "t"):
            try literal("true")
            return .bool
        case UInt8(ascii: "f"):
            try literal("false")
            return .bool
        case UInt8(ascii: "n"):
            try literal("null")
            return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            try number()
            return .number
        case let other:
            throw error(describe(other))
        }
    }

    private mutating func object(depth: Int, members: inout [JSONMember], record: Bool) throws(JSONScanError) {
        guard depth <= JSONScanner.maxDepth else { throw error("nesting deeper than \(JSONScanner.maxDepth) levels") }
        index += 1  // "{"
        skipWhitespace()
        if index < count, bytes[index] == UInt8(ascii: "}") { index += 1; return }
        while true {
            guard index < count else { throw error("unexpected end of input") }
            guard bytes[index] == UInt8(ascii: "\"") else { throw error("\(describe(bytes[index])) where a key was expected") }
            let keyStart = index
            let escaped = try string()
            let keyEnd = index
            skipWhitespace()
            guard index < count else { throw error("unexpected end of input") }
            guard bytes[index] == UInt8(ascii: ":") else { throw error("\(describe(bytes[index])) where ':' was expected") }
            index += 1
            skipWhitespace()
            let valueStart = index
            let kind = try value(depth: depth)
            if record {
                members.append(JSONMember(key: key(keyStart..<keyEnd, escaped: escaped),
                                          keyRange: keyStart..<keyEnd, valueRange: valueStart..<index, kind: kind))
            }
            skipWhitespace()
            guard index < count else { throw error("unexpected end of input") }
            switch bytes[index] {
            case UInt8(ascii: ","):
                index += 1
                skipWhitespace()
            case UInt8(ascii: "}"):
                index += 1
                return
            case let other:
                throw error("\(describe(other)) where ',' or '}' was expected")
            }
        }
    }

    private mutating func array(depth: Int, elements: inout [Range<Int>], record: Bool) throws(JSONScanError) {
        guard depth <= JSONScanner.maxDepth else { throw error("nesting deeper than \(JSONScanner.maxDepth) levels") }
        index += 1  // "["
        skipWhitespace()
        if index < count, bytes[index] == UInt8(ascii: "]") { index += 1; return }
        while true {
            let start = index
            _ = try value(depth: depth)
            if record { elements.append(start..<index) }
            skipWhitespace()
            guard index < count else { throw error("unexpected end of input") }
            switch bytes[index] {
            case UInt8(ascii: ","):
                index += 1
                skipWhitespace()
            case UInt8(ascii: "]"):
                index += 1
                return
            case let other:
                throw error("\(describe(other)) where ',' or ']' was expected")
            }
        }
    }

    private func key(_ range: Range<Int>, escaped: Bool) -> String {
        let inner = UnsafeBufferPointer(rebasing: bytes[(range.lowerBound + 1)..<(range.upperBound - 1)])
        if !escaped { return String(decoding: inner, as: UTF8.self) }
        return StringUnescaper.unescape(ArraySlice(inner)) ?? ""
    }

    // MARK: Scalars

    /// Validates a string literal starting at the opening quote; returns whether it had escapes.
    /// Plain ASCII goes eight bytes at a time (no quote, backslash, control or non-ASCII byte in
    /// the word): byte by byte, a long value (a Marzban user's links, a note) cost about 12
    /// instructions per byte, the most of an event's parse. A word that holds such a byte is
    /// read byte by byte to its end before words are tried again: trying one at every byte made
    /// short strings (keys, actions) dearer than before.
    private mutating func string() throws(JSONScanError) -> Bool {
        index += 1  // opening quote
        var escaped = false
        let base = UnsafeRawPointer(bytes.baseAddress)
        while index < count {
            if index + 8 <= count, let base {
                let word = base.loadUnaligned(fromByteOffset: index, as: UInt64.self)
                if word & 0x8080_8080_8080_8080 == 0 && !JSONWriter.needsEscape(word) {
                    index += 8
                    continue
                }
            }
            let stop = min(count, index + 8)
            repeat {
                let byte = bytes[index]
                if byte >= 0x20 && byte < 0x80 && byte != UInt8(ascii: "\"") && byte != UInt8(ascii: "\\") {
                    index += 1
                } else if byte == UInt8(ascii: "\"") {
                    index += 1
                    return escaped
                } else if byte == UInt8(ascii: "\\") {
                    escaped = true
                    try escape()
                } else if byte < 0x20 {
                    throw error("control character \(describe(byte)) in a string")
                } else {
                    guard let next = Self.endOfUTF8Sequence(bytes, at: index) else { throw error("invalid UTF-8") }
                    index = next
                }
            } while index < stop
        }
        throw error("unterminated string")
    }

    private mutating func escape() throws(JSONScanError) {
        guard index + 1 < count else { index = count; throw error("unterminated string") }
        switch bytes[index + 1] {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"),
             UInt8(ascii: "f"), UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
            index += 2
        case UInt8(ascii: "u"):
            for offset in 2..<6 {
                guard index + offset < count else { index = count; throw error("unterminated string") }
                guard StringUnescaper.hexValue(bytes[index + offset]) != nil else {
                    index += offset
                    throw error("invalid \\u escape")
                }
            }
            index += 6
        default:
            index += 1
            throw error("invalid escape")
        }
    }

    private mutating func number() throws(JSONScanError) {
        if bytes[index] == UInt8(ascii: "-") { index += 1 }
        guard index < count, isDigit(bytes[index]) else { throw error(index < count ? "\(describe(bytes[index])) in a number" : "unexpected end of input") }
        if bytes[index] == UInt8(ascii: "0") { index += 1 } else { skipDigits() }
        if index < count, bytes[index] == UInt8(ascii: ".") {
            index += 1
            guard index < count, isDigit(bytes[index]) else { throw error("a digit was expected after '.'") }
            skipDigits()
        }
        if index < count, bytes[index] | 0x20 == UInt8(ascii: "e") {
            index += 1
            if index < count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") { index += 1 }
            guard index < count, isDigit(bytes[index]) else { throw error("a digit was expected in the exponent") }
            skipDigits()
        }
    }

    private mutating func literal(_ word: StaticString) throws(JSONScanError) {
        let length = word.utf8CodeUnitCount
        let expected = UnsafeBufferPointer(start: word.utf8Start, count: length)
        for offset in 0..<length {
            guard index < count else { throw error("unexpected end of input") }
            guard bytes[index] == expected[offset] else { throw error(describe(bytes[index])) }
            index += 1
        }
    }

    // MARK: Helpers

    @inline(__always) private func isDigit(_ byte: UInt8) -> Bool {
        byte &- UInt8(ascii: "0") < 10
    }

    @inline(__always) private mutating func skipDigits() {
        while index < count, isDigit(bytes[index]) { index += 1 }
    }

    @inline(__always) private mutating func skipWhitespace() {
        while index < count {
            switch bytes[index] {
            case 0x20, 0x0A, 0x0D, 0x09: index += 1
            default: return
            }
        }
    }

    private func error(_ message: String) -> JSONScanError {
        JSONScanError(offset: min(index, count), message: message)
    }

    private func describe(_ byte: UInt8) -> String {
        if byte >= 0x21 && byte < 0x7F { return "unexpected byte '\(Character(Unicode.Scalar(byte)))'" }
        let hex = String(byte, radix: 16, uppercase: true)
        return "unexpected byte 0x\(hex.count == 1 ? "0" + hex : hex)"
    }

    /// The index after the multi-byte UTF-8 sequence starting at `start`, or nil when it is
    /// malformed (bad lead byte, overlong form, encoded surrogate, above U+10FFFF, truncated).
    static func endOfUTF8Sequence(_ bytes: UnsafeBufferPointer<UInt8>, at start: Int) -> Int? {
        let lead = bytes[start]
        let length: Int
        var low: UInt8 = 0x80, high: UInt8 = 0xBF  // allowed range of the second byte
        switch lead {
        case 0xC2...0xDF: length = 2
        case 0xE0: length = 3; low = 0xA0
        case 0xE1...0xEC, 0xEE...0xEF: length = 3
        case 0xED: length = 3; high = 0x9F
        case 0xF0: length = 4; low = 0x90
        case 0xF1...0xF3: length = 4
        case 0xF4: length = 4; high = 0x8F
        default: return nil
        }
        guard start + length <= bytes.count else { return nil }
        let second = bytes[start + 1]
        guard second >= low && second <= high else { return nil }
        var position = start + 2
        while position < start + length {
            guard bytes[position] & 0xC0 == 0x80 else { return nil }
            position += 1
        }
        return position
    }
}
