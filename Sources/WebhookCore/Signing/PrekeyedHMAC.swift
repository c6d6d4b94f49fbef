import Crypto

/// HMAC-SHA256 with the key absorbed once: the hash states after `key ⊕ ipad` and `key ⊕ opad`
/// are kept, and each message only copies them (RFC 2104; the same codes as `HMAC<SHA256>`).
///
/// Why: the worker signs every request twice with the same key, and `HMAC<SHA256>(key:)` redoes
/// the key set-up, two extra compression rounds and several allocations each time; under load
/// that was about a tenth of the worker's CPU. Also renders the codes as lowercase hex and
/// base64 without Foundation.
///
/// Unchecked Sendable: `SHA256` is a copy-on-write value (its context is copied before the first
/// update of a copy), so sharing the keyed states between threads is safe.
public struct PrekeyedHMAC: @unchecked Sendable {
    private let inner: SHA256
    private let outer: SHA256

    public init(key: [UInt8]) {
        var block = key.count > 64 ? Array(SHA256.hash(data: key)) : key
        block += [UInt8](repeating: 0, count: 64 - block.count)
        var inner = SHA256()
        var outer = SHA256()
        let innerPad = block.map { $0 ^ 0x36 }
        let outerPad = block.map { $0 ^ 0x5C }
        innerPad.withUnsafeBytes { inner.update(bufferPointer: $0) }
        outerPad.withUnsafeBytes { outer.update(bufferPointer: $0) }
        self.inner = inner
        self.outer = outer
    }

    /// The 32-byte code of `first` followed by `second`, written to `out`.
    public func code(_ first: UnsafeRawBufferPointer, _ second: UnsafeRawBufferPointer? = nil,
                     into out: UnsafeMutableRawBufferPointer) {
        var hash = inner
        hash.update(bufferPointer: first)
        if let second, second.count > 0 { hash.update(bufferPointer: second) }
        let innerDigest = hash.finalize()
        var final = outer
        innerDigest.withUnsafeBytes { final.update(bufferPointer: $0) }
        final.finalize().withUnsafeBytes { out.copyMemory(from: $0) }
    }

    /// `prefix` followed by the lowercase hex of the code of `message` (64 characters).
    public func hex(prefix: StaticString = "", _ message: [UInt8]) -> String {
        withUnsafeTemporaryAllocation(byteCount: 32, alignment: 1) { digest in
            message.withUnsafeBytes { code($0, into: digest) }
            let start = prefix.utf8CodeUnitCount
            return String(unsafeUninitializedCapacity: start + 64) { out in
                for index in 0..<start { out[index] = prefix.utf8Start[index] }
                let digits: StaticString = "0123456789abcdef"
                let table = digits.utf8Start
                for index in 0..<32 {
                    out[start + 2 * index] = table[Int(digest[index] >> 4)]
                    out[start + 2 * index + 1] = table[Int(digest[index] & 0x0F)]
                }
                return start + 64
            }
        }
    }

    /// `prefix` followed by the standard base64 of the code of `head` then `body`.
    public func base64(prefix: StaticString, _ head: UnsafeRawBufferPointer, _ body: [UInt8]) -> String {
        withUnsafeTemporaryAllocation(byteCount: 32, alignment: 1) { digest in
            body.withUnsafeBytes { code(head, $0, into: digest) }
            return String(unsafeUninitializedCapacity: prefix.utf8CodeUnitCount + 44) { out in
                let alphabet: StaticString = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
                let table = alphabet.utf8Start
                var at = 0
                for index in 0..<prefix.utf8CodeUnitCount {
                    out[at] = prefix.utf8Start[index]
                    at += 1
                }
                var index = 0
                while index < 32 {
                    let a = UInt32(digest[index])
                    let b = index + 1 < 32 ? UInt32(digest[index + 1]) : 0
                    let c = index + 2 < 32 ? UInt32(digest[index + 2]) : 0
                    let triple = a << 16 | b << 8 | c
                    out[at] = table[Int(triple >> 18 & 63)]
                    out[at + 1] = table[Int(triple >> 12 & 63)]
                    out[at + 2] = index + 1 < 32 ? table[Int(triple >> 6 & 63)] : UInt8(ascii: "=")
                    out[at + 3] = index + 2 < 32 ? table[Int(triple & 63)] : UInt8(ascii: "=")
                    at += 4
                    index += 3
                }
                return at
            }
        }
    }
}
