/// The ordered-delivery checker: given every request an ordered endpoint received, in arrival
/// order, says for each key whether the guarantee held.
///
/// Per key (user), with events numbered 0, 1, ... in enqueue order:
/// - the first deliveries (2xx answers) come in enqueue order, with none missing (`expected`
///   events; `skipped` ones, dead-lettered on purpose, may be absent);
/// - no request for event n+1 arrives before event n was delivered (or skipped);
/// - any repeated delivery is of the event delivered last (an immediate re-send, as after a
///   worker died between the answer and its settle), never an older one after a newer one.
public struct OrderChecker {
    public struct Record: Sendable {
        public let key: String
        public let sequence: Int
        public let delivered: Bool

        public init(key: String, sequence: Int, delivered: Bool) {
            self.key = key
            self.sequence = sequence
            self.delivered = delivered
        }
    }

    /// Every violation found, one line each; empty when the guarantee held.
    /// - Parameter batched: the endpoint takes a key's events in batches (Marzban mode): an
    ///   event travels with the ones before it, so only deliveries are judged.
    public static func violations(_ records: [Record], keys: [String], expected: Int,
                                  skipped: [String: Set<Int>] = [:], batched: Bool = false) -> [String] {
        var problems: [String] = []
        var byKey: [String: [Record]] = [:]
        for record in records { byKey[record.key, default: []].append(record) }
        for key in keys {
            let skips = skipped[key] ?? []
            // The next event that may be sent: one past the last delivered, past skipped ones.
            var last = -1
            func next(after index: Int) -> Int {
                var candidate = index + 1
                while skips.contains(candidate) { candidate += 1 }
                return candidate
            }
            for record in byKey[key] ?? [] {
                let allowed = next(after: last)
                if batched && !record.delivered { continue }
                if record.sequence > allowed && !(skips.contains(record.sequence)) {
                    problems.append("\(key): event \(record.sequence) was sent before event \(allowed) was delivered")
                    continue
                }
                guard record.delivered else { continue }
                if record.sequence == allowed || (record.sequence > last && skips.contains(record.sequence)) {
                    last = record.sequence
                } else if record.sequence != last {
                    problems.append("\(key): event \(record.sequence) delivered again after event \(last)")
                }
            }
            let wanted = (0..<expected).filter { !skips.contains($0) }
            if let missing = wanted.first(where: { $0 > last }) {
                problems.append("\(key): event \(missing) never delivered (last delivered: \(last))")
            }
        }
        return problems
    }
}
