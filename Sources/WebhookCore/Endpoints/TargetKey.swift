/// A target's id as a dictionary key, hashed once, when the target is made.
///
/// Why: the dispatcher looks targets up by id several times per delivery (the ledger's backlog
/// and activity, the request builder's egress checks and send hooks). A `String` key is hashed
/// at every lookup, SipHash over its bytes after a check that they are normalized: about 400
/// instructions a lookup under callgrind (`benchlib/instructions.py`). This key hashes one integer.
public struct TargetKey: Hashable, Sendable {
    /// The target's id (see `Target.id`).
    public let id: String
    private let hash: Int

    public init(_ id: String) {
        self.id = id
        var hasher = Hasher()
        hasher.combine(id)
        hash = hasher.finalize()
    }

    public static func == (a: TargetKey, b: TargetKey) -> Bool {
        a.hash == b.hash && a.id == b.id
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(hash)
    }
}
