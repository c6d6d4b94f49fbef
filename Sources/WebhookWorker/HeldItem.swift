import Glibc
import WebhookCore

/// An item's bytes as the room's dictionary key, hashed once, when it is made.
///
/// The hash reads the length and at most the first and last 32 bytes, eight at a time: where
/// items differ. An event taken from the queue starts with the tag its take wrote (random, then
/// its index), a delivery the worker wrote with its authentication code, a crash-marked item
/// with its count and then either: not bytes a producer chooses, and the per-process seed
/// keeps the hash of the rest unknown to it, so it cannot line items up in one bucket run.
/// Equality compares every byte.
///
/// Why the hash is kept, and handed to the dictionary as it is (`_rawHashValue(seed:)`, as
/// `HashedKey` does): items are added at every take and removed at every settle; hashed at
/// each lookup, and again for each neighbour a removal moves, through `Hasher` (SipHash), that
/// was about 1,800 instructions per delivery on the dispatcher and a third of the taker's
/// (`benchlib/instructions.py`).
struct HeldItem: Hashable {
    let bytes: [UInt8]
    private let hash: UInt64
    /// Bytes hashed at each end.
    static let endBytes = 32
    private static let seed = UInt64.random(in: .min ... .max)

    init(_ bytes: [UInt8]) {
        self.bytes = bytes
        hash = Self.hash(bytes)
    }

    static func == (a: HeldItem, b: HeldItem) -> Bool {
        guard a.hash == b.hash, a.bytes.count == b.bytes.count else { return false }
        guard !a.bytes.isEmpty else { return true }
        return a.bytes.withUnsafeBytes { x in b.bytes.withUnsafeBytes { y in memcmp(x.baseAddress!, y.baseAddress!, x.count) == 0 } }
    }

    func hash(into hasher: inout Hasher) {
        hasher.combine(hash)
    }

    func _rawHashValue(seed: Int) -> Int {
        HashedKey.mix(Int(truncatingIfNeeded: hash), seed: seed)
    }

    private static func hash(_ item: [UInt8]) -> UInt64 {
        item.withUnsafeBytes { raw in
            var hash = seed ^ UInt64(raw.count)
            func mix(_ word: UInt64) {
                hash = (hash ^ word) &* 0x9E37_79B9_7F4A_7C15
                hash ^= hash >> 32
            }
            func words(_ part: UnsafeRawBufferPointer) {
                var offset = 0
                while offset + 8 <= part.count {
                    mix(part.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
                    offset += 8
                }
                var last: UInt64 = 0
                while offset < part.count {
                    last = last << 8 | UInt64(part[offset])
                    offset += 1
                }
                mix(last)
            }
            if raw.count <= 2 * endBytes {
                words(raw)
            } else {
                words(UnsafeRawBufferPointer(rebasing: raw.prefix(endBytes)))
                words(UnsafeRawBufferPointer(rebasing: raw.suffix(endBytes)))
            }
            hash ^= hash >> 29
            hash = hash &* 0xBF58_476D_1CE4_E5B9
            return hash ^ (hash >> 32)
        }
    }
}
