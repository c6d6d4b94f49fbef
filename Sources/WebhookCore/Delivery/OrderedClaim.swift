/// An ordered endpoint as the take script sees it: which deliveries it fans out into the
/// endpoint's per-key order, and by which field.
public struct OrderedRoute: Sendable, Equatable {
    /// `Target.id` of the endpoint; names its Redis keys.
    public let targetID: String
    /// `order_key`.
    public let keyField: String
    /// The endpoint's `actions:` filter; nil: every action.
    public let actions: Set<String>?
    /// How many of a key's deliveries one claim takes: 1, or more for a Marzban-mode endpoint
    /// (its batch keeps the key's enqueue order).
    public let batch: Int

    public init(targetID: String, keyField: String, actions: Set<String>?, batch: Int) {
        self.targetID = targetID
        self.keyField = keyField
        self.actions = actions
        self.batch = batch
    }

    /// The routes of `targets`' ordered endpoints.
    public static func routes(_ targets: [Target]) -> [OrderedRoute] {
        targets.compactMap { target in
            guard let spec = target.spec, let ordering = spec.ordering else { return nil }
            let batches = DeliveryLedger.batches(target, defaultCompat: spec.compat)
            return OrderedRoute(targetID: target.id, keyField: ordering.key, actions: spec.actions, batch: batches ? 50 : 1)
        }
    }
}

/// The head (or, for a Marzban-mode endpoint, the first few deliveries) of one key of an ordered
/// endpoint, claimed by one worker under a lease; `token` fences the settle (see
/// `Scripts.orderedSettle`).
public struct OrderedClaim: Sendable, Equatable {
    public let targetID: String
    public let key: String
    /// Names this claim in the key's lease: a settle carrying another token writes nothing.
    public let token: String
    /// When the key's head first failed (Unix seconds of Redis time), 0 when it has not.
    public let blockedSince: Double
    /// The claimed entries, oldest first, exactly as stored: `<key> NUL <sequence> NUL <item>`.
    public let members: [[UInt8]]

    public init(targetID: String, key: String, token: String, blockedSince: Double, members: [[UInt8]]) {
        self.targetID = targetID
        self.key = key
        self.token = token
        self.blockedSince = blockedSince
        self.members = members
    }

    /// The queue item inside a stored entry (after the key and sequence), or nil when the entry
    /// is not of that form.
    public static func item(ofMember member: [UInt8]) -> ArraySlice<UInt8>? {
        guard let first = member.firstIndex(of: 0) else { return nil }
        guard let second = member[(first + 1)...].firstIndex(of: 0) else { return nil }
        return member[(second + 1)...]
    }
}

/// What becomes of one claim: per member, nothing to write (delivered), a dead letter, a retry
/// (the member's item replaced, the key due again later) or a hand-back (due now). Written in
/// one fenced step with the lease's release (see `Scripts.orderedSettle`).
public struct OrderedSettlement: Sendable {
    public let claim: OrderedClaim
    /// One per member, in member order; nil: delivered.
    public var outcomes: [Settlement.Outcome?]
    /// A member was retried after a failed attempt: the key is marked blocked (from now, unless
    /// it already was), which the metrics and `order_max_block` measure.
    public var failing: Bool
    /// Its attempt-log records, written with the settle and only when the outcomes are (the
    /// claim's token still holds the key); empty when the log is off.
    public var log: [[UInt8]] = []

    public init(claim: OrderedClaim, outcomes: [Settlement.Outcome?], failing: Bool) {
        self.claim = claim
        self.outcomes = outcomes
        self.failing = failing
    }
}
