/// `ordering: per-key` on an endpoint (or `WEBHOOK_ORDERING=per-user` for the implicit ones):
/// for each value of `key`, the endpoint receives the events in the order they were enqueued,
/// and event n+1 of a key is not sent before event n was delivered or became a dead letter.
/// See docs/ARCHITECTURE.md, "Ordered delivery", for how the fleet keeps it.
public struct OrderingSpec: Sendable, Equatable {
    /// `order_key`: the top-level string field of the event whose value names the key
    /// (default `username`). Events without it (or with a non-string value) share the empty key.
    public var key: String
    /// `order_max_block`: seconds a failing head may hold its key back (default 1 h); past it
    /// the head becomes a dead letter marked "ordered: skipped ahead" and the key advances.
    public var maxBlock: Double

    public static let defaultKey = "username"
    public static let defaultMaxBlock: Double = 3600

    public init(key: String = OrderingSpec.defaultKey, maxBlock: Double = OrderingSpec.defaultMaxBlock) {
        self.key = key
        self.maxBlock = maxBlock
    }

    /// The reason every dead letter of a skipped head starts with: `dead list` and a replay
    /// recognise it (a replay of such a letter arrives out of order).
    public static let skippedAhead = "ordered: skipped ahead"

    /// A field name usable as `order_key`: 1 to 64 letters, digits or `_-.`, so it is safe in
    /// a Lua table lookup and in logs.
    public static func isValidKeyField(_ name: String) -> Bool {
        !name.isEmpty && name.count <= 64
            && name.unicodeScalars.allSatisfy { $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || "_-.".unicodeScalars.contains($0)) }
    }
}
