import Crypto

/// Authenticates the internal fields of queue items, so that nothing a producer writes into Redis
/// can choose them.
///
/// Producers can write any bytes to any key they can reach. Delivery items carry a truncated
/// HMAC-SHA256 over everything after it; the key comes from the workers' configuration
/// (`WEBHOOK_ITEM_KEY`, else derived from `WEBHOOK_SECRET`), never from Redis. Tagged events carry
/// no MAC (the take script, which has no key, tags them), so their `webhook-id` is a MAC of the
/// tag *and* the payload: a producer who copies a real event's tag onto other bytes gets another
/// id, never the real event's.
public struct ItemAuthenticator: Sendable {
    /// The derived key, absorbed once: every taken event and every retry item is MAC'd, so the
    /// per-use key set-up of `HMAC<SHA256>(key:)` showed in profiles (see `PrekeyedHMAC`).
    private let hmac: PrekeyedHMAC
    /// The key of URL fingerprints, derived apart from the items' (see `urlFingerprint`).
    private let fingerprintKey: [UInt8]
    /// Bytes of MAC kept in items (hex-encoded, so twice as many characters). 128 bits.
    static let macBytes = 16
    /// Bytes of a URL fingerprint kept in items (hex-encoded). 48 bits: a fingerprint is only
    /// ever compared with the one endpoint an item names, never searched among many.
    static let fingerprintBytes = 6

    /// - Parameter keyMaterial: the configured secret bytes. Domain-separated before use, so the
    ///   same secret used for signing requests never produces the same MACs.
    public init(keyMaterial: [UInt8]) {
        let derived = HMAC<SHA256>.authenticationCode(for: Array("webhook-worker internal items v1".utf8),
                                                      using: SymmetricKey(data: keyMaterial))
        self.hmac = PrekeyedHMAC(key: Array(derived))
        self.fingerprintKey = Array(HMAC<SHA256>.authenticationCode(for: Array("webhook-worker url fingerprints v1".utf8),
                                                                   using: SymmetricKey(data: keyMaterial)))
    }

    /// A short keyed fingerprint of where a target's requests go (its kind and URL), as 12 hex
    /// digits. A retry carries the fingerprint of the URL it was made for, under the item's MAC,
    /// so a worker whose endpoint of that id now has another URL refuses it instead of sending
    /// it elsewhere. Keyed, because URLs may hold secrets and Redis is readable by producers: an
    /// unkeyed hash would let anyone test guesses of a URL offline.
    public func urlFingerprint(kind: EndpointKind, url: String) -> String {
        let code = HMAC<SHA256>.authenticationCode(for: Array((kind.letter + " " + url).utf8),
                                                   using: SymmetricKey(data: fingerprintKey))
        return Hex.string(Array(code).prefix(Self.fingerprintBytes))
    }

    /// The MAC of `bytes` as lowercase hex (`2 * macBytes` characters).
    public func mac(_ bytes: some Collection<UInt8>) -> [UInt8] {
        withUnsafeTemporaryAllocation(byteCount: 32, alignment: 1) { digest in
            Self.withBytes(of: bytes) { hmac.code($0, into: digest) }
            return Hex.encode(UnsafeRawBufferPointer(digest).prefix(Self.macBytes))
        }
    }

    /// Whether `mac` (hex, as stored) authenticates `bytes`; constant time in the MAC's content.
    public func verify(mac: ArraySlice<UInt8>, of bytes: ArraySlice<UInt8>) -> Bool {
        WebhookSigner.constantTimeEquals(self.mac(bytes), mac)
    }

    /// The `webhook-id` of a tagged event for one target:
    /// `msg_<24 hex of HMAC(tag, payload)>_<target id>`. The same on every attempt and after a
    /// crash (the tag and payload travel together), different for different payloads (see `WebhookID`).
    public func webhookID(tag: some Collection<UInt8>, raw: some Collection<UInt8>, target: Target) -> String {
        WebhookID.derived(digest: eventDigest(tag: tag, raw: raw), targetID: target.id)
    }

    /// The per-event part of `webhookID`: the HMAC of tag, a zero byte, and the payload (24 hex
    /// digits in the id). Compute once per event, then derive each target's id from it.
    public func eventDigest(tag: some Collection<UInt8>, raw: some Collection<UInt8>) -> EventDigest {
        withUnsafeTemporaryAllocation(byteCount: tag.count + 1 + 32, alignment: 1) { scratch in
            // tag, a zero byte, then room for the code: on the stack, no allocation per event
            var end = 0
            for byte in tag {
                scratch[end] = byte
                end += 1
            }
            scratch[end] = 0
            let head = UnsafeRawBufferPointer(rebasing: scratch[0...end])
            let digest = UnsafeMutableRawBufferPointer(rebasing: scratch[(end + 1)...])
            Self.withBytes(of: raw) { hmac.code(head, $0, into: digest) }
            return EventDigest(code: UnsafeRawBufferPointer(digest))
        }
    }

    /// Runs `body` on `bytes` in place when they are contiguous (arrays and their slices, what
    /// the hot paths pass), else on a gathered copy.
    private static func withBytes(of bytes: some Collection<UInt8>, _ body: (UnsafeRawBufferPointer) -> Void) {
        let done: Void? = bytes.withContiguousStorageIfAvailable { body(UnsafeRawBufferPointer($0)) }
        if done == nil { Array(bytes).withUnsafeBytes(body) }
    }
}

/// Lowercase hex encoding, shared by MACs, digests and signatures.
public enum Hex {
    public static func encode(_ bytes: some Collection<UInt8>) -> [UInt8] {
        [UInt8](unsafeUninitializedCapacity: 2 * bytes.count) { out, written in
            written = out.baseAddress.map { write(bytes, to: $0) } ?? 0
        }
    }

    /// The hex of `bytes`, written straight into the string's storage (no intermediate array).
    public static func string(_ bytes: some Collection<UInt8>) -> String {
        String(unsafeUninitializedCapacity: 2 * bytes.count) { out in write(bytes, to: out.baseAddress!) }
    }

    /// Writes the hex of `bytes` at `out` (two digits per byte, which `out` must have room for);
    /// returns how many it wrote. The one hex loop: strings, digests and signatures call it.
    /// The digits are read from a `StaticString`'s bytes: from an array each digit cost a
    /// bounds check and the array's lazy global, about 17 instructions per byte under
    /// callgrind against 6 (two ids and a signature at every delivery).
    static func write(_ bytes: some Sequence<UInt8>, to out: UnsafeMutablePointer<UInt8>) -> Int {
        let table = lowercase.utf8Start
        var at = 0
        for byte in bytes {
            out[at] = table[Int(byte >> 4)]
            out[at + 1] = table[Int(byte & 0x0F)]
            at += 2
        }
        return at
    }

    private static let lowercase: StaticString = "0123456789abcdef"

    /// The hex of a sequence that is not a collection (a digest): gathered first.
    public static func string(_ bytes: some Sequence<UInt8>) -> String {
        string(Array(bytes))
    }
}
