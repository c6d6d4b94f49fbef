/// A fixed byte string, searched for in others with Boyer-Moore-Horspool: a mismatch moves the
/// window by up to the needle's length, by the byte under its end.
///
/// Why not a byte-by-byte scan: the request builder looks for an admin's Discord webhook URL in
/// every webhook body until it has found one (`RequestBuilder.noticeAdminURLs`), and the attempt
/// log for each endpoint secret in every answer's excerpt (`ExcerptMask`), so in the common case,
/// no match, the whole text is read: byte by byte that was about 770 instructions per delivery
/// (`benchlib/instructions.py`); the skips make it a few dozen comparisons. glibc's `memmem`
/// would do as well, but Swift's Glibc module does not export it.
public struct ByteNeedle: Sendable {
    public let bytes: [UInt8]
    /// How far the window moves when the byte under its last position is this one.
    private let shifts: [Int]

    public init(_ text: String) {
        bytes = Array(text.utf8)
        precondition(!bytes.isEmpty, "an empty needle")
        var shifts = [Int](repeating: bytes.count, count: 256)
        for index in 0..<(bytes.count - 1) { shifts[Int(bytes[index])] = bytes.count - 1 - index }
        self.shifts = shifts
    }

    /// Whether `haystack` contains the needle.
    public func occurs(in haystack: [UInt8]) -> Bool {
        haystack.withUnsafeBufferPointer { occurs(in: $0) }
    }

    /// Whether `hay` contains the needle.
    public func occurs(in hay: UnsafeBufferPointer<UInt8>) -> Bool {
        let length = bytes.count
        guard hay.count >= length else { return false }
        return bytes.withUnsafeBufferPointer { needle in
            shifts.withUnsafeBufferPointer { shifts in
                var start = 0
                let lastStart = hay.count - length
                while start <= lastStart {
                    let end = hay[start + length - 1]
                    if end == needle[length - 1] {
                        var index = length - 2
                        while index >= 0 && hay[start + index] == needle[index] { index -= 1 }
                        if index < 0 { return true }
                    }
                    start += shifts[Int(end)]
                }
                return false
            }
        }
    }
}
