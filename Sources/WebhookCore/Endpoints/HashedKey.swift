/// A string as a dictionary key, hashed once, when it is made: a target's id (`Target.key`) and
/// its breaker key (`Target.breakerHashedKey`).
///
/// Why: the dispatcher looks targets up several times per delivery (the ledger's backlog and
/// activity, the request builder's egress checks and send hooks, the endpoint guard's breaker
/// tallies). A `String` key is hashed at every lookup, SipHash over its bytes after a check that
/// they are normalized: about 400 instructions a lookup under callgrind
/// (`benchlib/instructions.py`). This key hashes one integer.
public struct HashedKey: Hashable, Sendable {
    public let string: String
    private let hash: Int

    public init(_ string: String) {
        self.string = string
        var hasher = Hasher()
        hasher.combine(string)
        hash = hasher.finalize()
    }

    public static func == (a: HashedKey, b: HashedKey) -> Bool {
        a.hash == b.hash && a.string == b.string
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(hash)
    }

    /// What `Dictionary` and `Set` actually call (`hash(into:)` is only its default's way):
    /// the stored hash, already a seeded SipHash of the string, mixed with the table's seed by
    /// a multiply-xorshift, rather than fed through `Hasher` once more. Hashing one integer
    /// still ran SipHash's rounds and finalization, about 170 instructions a lookup, four
    /// lookups a delivery. Equal keys have equal stored hashes, so they agree here too.
    public func _rawHashValue(seed: Int) -> Int {
        Self.mix(hash, seed: seed)
    }

    /// A hash computed once mixed with a table's seed: what a key that keeps its hash answers to
    /// `_rawHashValue(seed:)` (this type, and the worker's `HeldItem`).
    @inlinable
    public static func mix(_ hash: Int, seed: Int) -> Int {
        var mixed = UInt64(truncatingIfNeeded: hash ^ seed)
        mixed ^= mixed >> 33
        mixed &*= 0xff51_afd7_ed55_8ccd
        mixed ^= mixed >> 33
        return Int(truncatingIfNeeded: mixed)
    }
}
