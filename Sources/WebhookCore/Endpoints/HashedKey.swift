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
}
