import CHMACShim

/// HMAC-SHA256 with the key absorbed once: the hash states after `key ⊕ ipad` and `key ⊕ opad`
/// are kept, and each message only copies them (RFC 2104; the same codes as `HMAC<SHA256>`).
///
/// Why: the worker signs every request twice with the same key, and `HMAC<SHA256>(key:)` redoes
/// the key set-up, two extra compression rounds and several allocations each time; under load
/// that was about a tenth of the worker's CPU. Also renders the codes as lowercase hex and
/// base64 without Foundation.
///
/// Why OpenSSL's libcrypto and not swift-crypto's `SHA256`: that `SHA256` is a copy-on-write
/// struct around a class, so each copy of a keyed state allocates a new context at its first
/// `update`: 2 allocations per code (inner and outer state), and a delivery makes three codes (the
/// event digest, the hex signature, the Standard Webhooks signature), 6 of the 31 Swift
/// allocations per delivery that the allocation probe counted. The keyed states here are plain C
/// structs (`SHA256_CTX`, see `CHMACShim`) that each code copies onto the stack, so a code
/// allocates nothing. libcrypto is already in the process: libcurl links it.
///
/// The value is 224 bytes, stored inline: copying it is a memcpy, not a reference count.
///
/// Sendable: the keyed states are never written after `init`; each code works on its own copies,
/// so one value may sign on several threads at once.
public struct PrekeyedHMAC: Sendable {
    private let key: wh_hmac_sha256_key

    public init(key: [UInt8]) {
        var keyed = wh_hmac_sha256_key()
        key.withUnsafeBytes { wh_hmac_sha256_prekey(&keyed, $0.baseAddress, $0.count) }
        self.key = keyed
    }

    /// The 32-byte code of `first` followed by `second`, written to `out`.
    public func code(_ first: UnsafeRawBufferPointer, _ second: UnsafeRawBufferPointer? = nil,
                     into out: UnsafeMutableRawBufferPointer) {
        precondition(out.count >= 32, "an HMAC-SHA256 code needs 32 bytes")
        withUnsafePointer(to: key) { keyed in
            wh_hmac_sha256_code(keyed, first.baseAddress, first.count, second?.baseAddress, second?.count ?? 0,
                                out.baseAddress)
        }
    }

    /// `prefix` followed by the lowercase hex of the code of `message` (64 characters).
    public func hex(prefix: StaticString = "", _ message: [UInt8]) -> String {
        var out: [UInt8] = []
        appendHex(prefix: prefix, message, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// `hex(prefix:_:)` appended to `out`: a request's header line is written where it is sent
    /// from, without a `String` (an allocation and a UTF-8 check) per request.
    public func appendHex(prefix: StaticString = "", _ message: [UInt8], to out: inout [UInt8]) {
        // The code and its text on the stack, appended in one call.
        withUnsafeTemporaryAllocation(byteCount: 32 + 64, alignment: 1) { scratch in
            let digest = UnsafeMutableRawBufferPointer(rebasing: scratch[0..<32])
            message.withUnsafeBytes { code($0, into: digest) }
            let text = scratch.baseAddress! + 32
            let count = Hex.write(UnsafeRawBufferPointer(digest), to: text.assumingMemoryBound(to: UInt8.self))
            Self.append(prefix, to: &out)
            out.append(contentsOf: UnsafeRawBufferPointer(start: text, count: count).bindMemory(to: UInt8.self))
        }
    }

    /// `prefix` followed by the standard base64 of the code of `head` then `body`.
    public func base64(prefix: StaticString, _ head: UnsafeRawBufferPointer, _ body: [UInt8]) -> String {
        var out: [UInt8] = []
        appendBase64(prefix: prefix, head, body, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// `base64(prefix:_:_:)` appended to `out` (see `appendHex`).
    public func appendBase64(prefix: StaticString, _ head: UnsafeRawBufferPointer, _ body: [UInt8], to out: inout [UInt8]) {
        withUnsafeTemporaryAllocation(byteCount: 32 + 44, alignment: 1) { scratch in
            let digest = UnsafeMutableRawBufferPointer(rebasing: scratch[0..<32])
            body.withUnsafeBytes { code(head, $0, into: digest) }
            let text = UnsafeMutableRawBufferPointer(rebasing: scratch[32...])
            let alphabet: StaticString = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
            let table = alphabet.utf8Start
            var at = 0
            var index = 0
            while index < 32 {
                let a = UInt32(digest[index])
                let b = index + 1 < 32 ? UInt32(digest[index + 1]) : 0
                let c = index + 2 < 32 ? UInt32(digest[index + 2]) : 0
                let triple = a << 16 | b << 8 | c
                text[at] = table[Int(triple >> 18 & 63)]
                text[at + 1] = table[Int(triple >> 12 & 63)]
                text[at + 2] = index + 1 < 32 ? table[Int(triple >> 6 & 63)] : UInt8(ascii: "=")
                text[at + 3] = index + 2 < 32 ? table[Int(triple & 63)] : UInt8(ascii: "=")
                at += 4
                index += 3
            }
            Self.append(prefix, to: &out)
            out.append(contentsOf: UnsafeRawBufferPointer(rebasing: text[0..<at]).bindMemory(to: UInt8.self))
        }
    }

    private static func append(_ text: StaticString, to out: inout [UInt8]) {
        out.append(contentsOf: UnsafeBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
    }
}
