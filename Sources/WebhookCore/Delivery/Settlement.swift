/// What becomes of one finished event, written to Redis in one fenced, atomic step: the event
/// leaves the worker's processing list and its outcomes are recorded together, or not at all.
public struct Settlement: Sendable {
    /// The exact bytes in the processing list.
    public let ack: [UInt8]
    /// The writes this event needs; empty when every target got it (or none wanted it).
    public var outcomes: [Outcome]
    /// Its attempt-log records (`AttemptRecord.stored()`), written with the settle and only when
    /// the outcomes are (fenced alike); empty when the log is off.
    public var log: [[UInt8]]
    /// For a claim of an ordered endpoint's key: its per-member outcomes, settled by the
    /// ordered settle under the key's lease instead of the processing list (`outcomes` is then
    /// empty and `ack` the first member).
    public var ordered: OrderedSettlement?

    /// One write.
    public enum Outcome: Sendable, Equatable {
        /// Into the delayed set, due `after` seconds from Redis's now.
        case retry(after: Double, item: [UInt8])
        /// Back to the taking end of the queue (handed back at shutdown).
        case requeue(item: [UInt8])
        /// Onto the dead list (`DeadLetter.encoded()`).
        case dead(entry: [UInt8])

        var byteCount: Int {
            switch self {
            case .retry(_, let item), .requeue(let item): return item.count
            case .dead(let entry): return entry.count
            }
        }
    }

    public init(ack: [UInt8], outcomes: [Outcome] = [], log: [[UInt8]] = []) {
        self.ack = ack
        self.outcomes = outcomes
        self.log = log
    }

    /// Bytes this settlement sends to Redis, for splitting batches.
    public var byteCount: Int {
        var total = log.reduce(0) { $0 + $1.count }
        if let ordered {
            for member in ordered.claim.members { total += member.count }
            for case let outcome? in ordered.outcomes { total += outcome.byteCount }
            return total
        }
        return outcomes.reduce(ack.count + total) { $0 + $1.byteCount }
    }

    /// Splits `settlements` into batches of at most `maxCount` events and about `maxBytes`
    /// bytes (a single larger event is a batch of its own), so no script call exceeds Redis's
    /// argument and buffer limits or blocks the server for long.
    public static func batches(_ settlements: [Settlement], maxCount: Int, maxBytes: Int) -> [ArraySlice<Settlement>] {
        var out: [ArraySlice<Settlement>] = []
        var start = 0, bytes = 0
        // By index: `enumerated()` copies each settlement (retaining its arrays) to size it.
        for index in settlements.indices {
            let size = settlements[index].byteCount
            if index > start && (index - start >= maxCount || bytes + size > maxBytes) {
                out.append(settlements[start..<index])
                start = index
                bytes = 0
            }
            bytes += size
        }
        if start < settlements.count { out.append(settlements[start...]) }
        return out
    }
}
