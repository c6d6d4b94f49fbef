import Glibc

/// The room's items, byte for byte, each with how many copies of it are held: an open-addressing
/// table (linear probing, backward-shift removal) under a hash computed once per item.
///
/// Why not a `Dictionary` keyed by the item, as before: `Dictionary` runs SipHash over a key's
/// `hash(into:)` at every lookup, and again over each neighbour it moves when a key is removed,
/// however cheap the key's own hash; items are added at every take (the taker) and removed at
/// every settle (the dispatcher), and that was about 1,800 instructions per delivery on the
/// dispatcher and a third of the taker's (`benchlib/instructions.py`). Here a slot keeps its
/// hash, a probe compares hashes before bytes, and a removal moves slots without hashing.
///
/// The hash reads the length and at most the first and last 32 bytes, eight at a time: where
/// items differ. An event taken from the queue starts with the tag its take wrote (random, then
/// its index), a delivery the worker wrote with its authentication code, a crash-marked item
/// with its count and then either: not bytes a producer chooses, and the per-process seed
/// keeps the hash of the rest unknown to it, so it cannot line items up on one probe run.
/// Equality compares every byte.
struct HeldItemTable {
    private struct Slot {
        var hash: UInt64
        var bytes: [UInt8]
        /// Copies held; 0 marks an empty slot.
        var count: Int

        static let empty = Slot(hash: 0, bytes: [], count: 0)
    }

    private var slots = [Slot](repeating: .empty, count: 16)
    /// Slots in use (distinct items).
    private(set) var distinct = 0
    private let seed = UInt64.random(in: .min ... .max)
    /// Bytes hashed at each end.
    static let endBytes = 32

    /// Adds one copy of `item`.
    mutating func add(_ item: [UInt8]) {
        if 2 * (distinct + 1) > slots.count { grow() }
        let hash = self.hash(item)
        var index = position(of: hash)
        while slots[index].count > 0 {
            if slots[index].hash == hash && Self.same(slots[index].bytes, item) {
                slots[index].count += 1
                return
            }
            index = (index + 1) & (slots.count - 1)
        }
        slots[index] = Slot(hash: hash, bytes: item, count: 1)
        distinct += 1
    }

    /// Removes one copy of `item`; false when none is held.
    mutating func remove(_ item: [UInt8]) -> Bool {
        guard let index = find(item) else { return false }
        if slots[index].count > 1 {
            slots[index].count -= 1
        } else {
            removeSlot(at: index)
        }
        return true
    }

    func contains(_ item: [UInt8]) -> Bool {
        find(item) != nil
    }

    /// Every item, once per copy held.
    var all: [[UInt8]] {
        slots.flatMap { slot in Array(repeating: slot.bytes, count: slot.count) }
    }

    private func find(_ item: [UInt8]) -> Int? {
        let hash = self.hash(item)
        var index = position(of: hash)
        while slots[index].count > 0 {
            if slots[index].hash == hash && Self.same(slots[index].bytes, item) { return index }
            index = (index + 1) & (slots.count - 1)
        }
        return nil
    }

    private func position(of hash: UInt64) -> Int {
        Int(truncatingIfNeeded: hash) & (slots.count - 1)
    }

    /// Empties `index` and moves back the slots after it whose probe runs through it, so every
    /// item stays reachable from its first position without tombstones.
    private mutating func removeSlot(at index: Int) {
        let mask = slots.count - 1
        var hole = index
        var next = (index + 1) & mask
        while slots[next].count > 0 {
            // It may fill the hole when the hole lies on its probe run (from its first position).
            let run = (next - position(of: slots[next].hash)) & mask
            if run >= (next - hole) & mask {
                slots.swapAt(hole, next)
                hole = next
            }
            next = (next + 1) & mask
        }
        slots[hole] = .empty
        distinct -= 1
    }

    private mutating func grow() {
        let old = slots
        slots = [Slot](repeating: .empty, count: 2 * old.count)
        for slot in old where slot.count > 0 {
            var index = position(of: slot.hash)
            while slots[index].count > 0 { index = (index + 1) & (slots.count - 1) }
            slots[index] = slot
        }
    }

    private func hash(_ item: [UInt8]) -> UInt64 {
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
            if raw.count <= 2 * Self.endBytes {
                words(raw)
            } else {
                words(UnsafeRawBufferPointer(rebasing: raw.prefix(Self.endBytes)))
                words(UnsafeRawBufferPointer(rebasing: raw.suffix(Self.endBytes)))
            }
            hash ^= hash >> 29
            hash = hash &* 0xBF58_476D_1CE4_E5B9
            return hash ^ (hash >> 32)
        }
    }

    private static func same(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        guard !a.isEmpty else { return true }
        return a.withUnsafeBytes { x in b.withUnsafeBytes { y in memcmp(x.baseAddress!, y.baseAddress!, x.count) == 0 } }
    }
}
