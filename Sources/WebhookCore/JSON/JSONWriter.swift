/// Small helpers that append JSON tokens to a byte buffer, for the few places that build JSON
/// by hand (event bodies, dead letters, Discord embeds) where byte-exact output matters.
public enum JSONWriter {
    /// Appends `string` as a JSON string literal, escaping quotes, backslashes and control
    /// characters; everything else is copied as UTF-8.
    ///
    /// Runs of bytes that need no escape are copied in one call: appending byte by byte (a
    /// capacity and uniqueness check each) was the largest part of writing an attempt record,
    /// which happens at every delivery.
    public static func appendString(_ string: String, to out: inout [UInt8]) {
        string.withUTF8Bytes { appendString(bytes: $0, to: &out) }
    }

    /// `appendString` for text already held as UTF-8 bytes.
    public static func appendString(bytes: UnsafeBufferPointer<UInt8>, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        var runStart = 0
        var index = 0
        while index < bytes.count {
            // Eight bytes at a time while none of them needs an escape (most text has none).
            if index + 8 <= bytes.count,
               !needsEscape(UnsafeRawPointer(bytes.baseAddress!).loadUnaligned(fromByteOffset: index, as: UInt64.self)) {
                index += 8
                continue
            }
            let byte = bytes[index]
            index += 1
            guard needsEscape(byte: byte) else { continue }
            if runStart < index - 1 { out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[runStart..<(index - 1)])) }
            runStart = index
            switch byte {
            case 0x0A: out.append(UInt8(ascii: "\\")); out.append(UInt8(ascii: "n"))
            case 0x0D: out.append(UInt8(ascii: "\\")); out.append(UInt8(ascii: "r"))
            case 0x09: out.append(UInt8(ascii: "\\")); out.append(UInt8(ascii: "t"))
            case 0x00..<0x20:
                out.append(contentsOf: #"\u00"#.utf8)
                out.append(contentsOf: Hex.encode(CollectionOfOne(byte)))
            default: out.append(UInt8(ascii: "\\")); out.append(byte)  // a quote or a backslash
            }
        }
        if runStart < bytes.count { out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[runStart...])) }
        out.append(UInt8(ascii: "\""))
    }

    /// Whether `appendString` would copy `bytes` as they are (no byte needs an escape).
    public static func isPlain(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        !ByteWords.any(in: bytes, word: { needsEscape($0) }, byte: { needsEscape(byte: $0) })
    }

    /// Whether `byte` needs an escape in a JSON string: a control byte, a quote or a backslash.
    @inline(__always)
    static func needsEscape(byte: UInt8) -> Bool {
        byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\")
    }

    /// Whether any of the eight bytes in `word` is a control byte, a quote or a backslash (the
    /// bit tricks of "Bit Twiddling Hacks": `hasless` and `haszero`, exact as an any-test).
    @inline(__always)
    static func needsEscape(_ word: UInt64) -> Bool {
        let ones: UInt64 = 0x0101_0101_0101_0101, highs: UInt64 = 0x8080_8080_8080_8080
        let control = (word &- ones &* 0x20) & ~word & highs
        let quote = word ^ (ones &* UInt64(UInt8(ascii: "\""))), backslash = word ^ (ones &* UInt64(UInt8(ascii: "\\")))
        let quotes = (quote &- ones) & ~quote & highs
        let backslashes = (backslash &- ones) & ~backslash & highs
        return (control | quotes | backslashes) != 0
    }

    /// Appends `value` in decimal, without going through `String`: the digits are written from
    /// the last into a buffer on the stack (one division by ten each, which the compiler turns
    /// into a multiplication) and appended in one call. (Dividing by a falling power of ten, as
    /// before, cost two divisions per digit; making room with `repeatElement` cost more than
    /// the digits.)
    public static func appendInt(_ value: Int, to out: inout [UInt8]) {
        if value < 0 { out.append(UInt8(ascii: "-")) }
        var magnitude = value.magnitude
        // 20 digits hold UInt64.max; a tuple, so the buffer is on the stack.
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)
        withUnsafeMutableBytes(of: &digits) { buffer in
            var start = buffer.count
            repeat {
                start -= 1
                buffer[start] = UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: magnitude % 10)
                magnitude /= 10
            } while magnitude > 0
            // As typed bytes: appending a raw buffer went through the generic path.
            let first = buffer.baseAddress!.assumingMemoryBound(to: UInt8.self) + start
            out.append(contentsOf: UnsafeBufferPointer(start: first, count: buffer.count - start))
        }
    }

    /// Appends `value` as a JSON number: an integral value without a fraction (`3`), any other
    /// in the shortest form that reads back the same (`1.234`), as Foundation's
    /// `JSONSerialization` writes it. Non-finite values are written as `0`.
    public static func appendNumber(_ value: Double, to out: inout [UInt8]) {
        guard value.isFinite else {
            out.append(UInt8(ascii: "0"))
            return
        }
        if value == value.rounded(), abs(value) < 1e15 {
            appendInt(Int(value), to: &out)
        } else {
            out.append(contentsOf: value.description.utf8)
        }
    }

    /// Appends Unix seconds with exactly six decimals, like Marzban's `enqueued_at`
    /// (`1680506457.636369`). Non-finite values are written as `0`.
    public static func appendSeconds(_ seconds: Double, to out: inout [UInt8]) {
        guard seconds.isFinite, abs(seconds) < 9e12 else {
            out.append(UInt8(ascii: "0"))
            return
        }
        let micros = Int((seconds * 1_000_000).rounded())
        if micros < 0 { out.append(UInt8(ascii: "-")) }
        let whole = micros.magnitude / 1_000_000, fraction = micros.magnitude % 1_000_000
        appendInt(Int(whole), to: &out)
        out.append(UInt8(ascii: "."))
        var divisor: UInt = 100_000
        while divisor > 0 {
            out.append(UInt8(ascii: "0") + UInt8((fraction / divisor) % 10))
            divisor /= 10
        }
    }

    /// `appendSeconds` as a `String`.
    public static func seconds(_ seconds: Double) -> String {
        var out: [UInt8] = []
        appendSeconds(seconds, to: &out)
        return String(decoding: out, as: UTF8.self)
    }
}
