/// The forms of the `webhook-id` header, in one place: receivers de-duplicate on it, the ingest's
/// loop check recognises it, and the attempt log and `log --id` search by it, so every producer
/// of an id must spell it the same way.
///
/// - `msg_<24 hex of HMAC(tag, payload)>_<target id>`: an event's delivery to one target
///   (`derived`, the digest from `ItemAuthenticator.eventDigest`).
/// - `msg_<24 random>_<target id>`: a breaker announcement, which has no tagged event (`random`).
/// - `msg_replay_<16 random>_<target id>`: a replayed dead letter written by an earlier release
///   without an id (`replay`).
public enum WebhookID {
    /// What every `webhook-id` this product sends starts with.
    public static let prefix = "msg_"

    /// `msg_<digest>_<target id>`, from an `eventDigest` computed once per event; written in one
    /// allocation (it is built for every delivery).
    public static func derived(digest: EventDigest, targetID: String) -> String {
        targetID.withUTF8Bytes { id in
            let count = prefix.utf8.count + 24 + 1 + id.count
            return String(unsafeUninitializedCapacity: count) { out in
                var at = 0
                for byte in prefix.utf8 {
                    out[at] = byte
                    at += 1
                }
                digest.writeHex(to: out.baseAddress! + at)
                at += 24
                out[at] = UInt8(ascii: "_")
                at += 1
                for byte in id {
                    out[at] = byte
                    at += 1
                }
                return at
            }
        }
    }

    /// `msg_<24 random>_<target id>`: an id for a delivery with no event tag to derive it from.
    public static func random(targetID: String) -> String {
        var generator = SystemRandomNumberGenerator()
        return random(targetID: targetID, using: &generator)
    }

    /// `random(targetID:)` from the caller's generator.
    public static func random(targetID: String, using generator: inout some RandomNumberGenerator) -> String {
        "\(prefix)\(RandomToken.make(24, using: &generator))_\(targetID)"
    }

    /// `msg_replay_<16 random>_<target id>`: the id a replayed dead letter gets when it has none.
    public static func replay(targetID: String) -> String {
        "\(prefix)replay_\(RandomToken.make(16))_\(targetID)"
    }
}
