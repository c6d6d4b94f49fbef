/// Tests bytes eight at a time: the loop `JSONWriter.isPlain` and `ExcerptMask` share, each
/// with its own test of a word and of one byte.
enum ByteWords {
    /// Whether any byte of `bytes` is flagged: `word` tests eight bytes at once (loaded
    /// unaligned), `byte` the last few.
    @inline(__always)
    static func any(in bytes: UnsafeBufferPointer<UInt8>, word: (UInt64) -> Bool, byte: (UInt8) -> Bool) -> Bool {
        guard let base = bytes.baseAddress else { return false }
        let raw = UnsafeRawPointer(base)
        var index = 0
        while index + 8 <= bytes.count {
            if word(raw.loadUnaligned(fromByteOffset: index, as: UInt64.self)) { return true }
            index += 8
        }
        while index < bytes.count {
            if byte(bytes[index]) { return true }
            index += 1
        }
        return false
    }
}
