/// The per-event part of a derived `webhook-id` (see `WebhookID.derived`): the first 12 bytes of
/// HMAC(tag, a zero byte, payload), written as 24 hex digits. Kept as bytes in a value, not as
/// its hex `String`: 24 characters are too many for a small string, so the text was a heap
/// allocation per event, made only to be copied into each target's id.
public struct EventDigest: Sendable, Hashable {
    /// Bytes 0..<8 and 8..<12 of the code, in memory order.
    private let head: UInt64
    private let tail: UInt32

    /// The first 12 bytes of `code`.
    init(code: UnsafeRawBufferPointer) {
        precondition(code.count >= 12, "an event digest is 12 bytes of a code")
        head = code.loadUnaligned(as: UInt64.self)
        tail = code.loadUnaligned(fromByteOffset: 8, as: UInt32.self)
    }

    /// The 24 lowercase hex digits.
    public var hex: String {
        String(unsafeUninitializedCapacity: 24) { out in
            writeHex(to: out.baseAddress!)
            return 24
        }
    }

    /// Writes the 24 hex digits at `out`.
    func writeHex(to out: UnsafeMutablePointer<UInt8>) {
        withUnsafeBytes(of: (head, tail)) { bytes in _ = Hex.write(bytes.prefix(12), to: out) }
    }
}
