import Crypto
import Foundation
import WebhookCore

/// The queue's rules in process memory: a driver for running the worker runtime without Redis,
/// as swift-jobs' memory driver does. Same contract as the Redis driver's scripts (tagging on
/// take, fenced settles, crash marks on reap, the sweep), checked by the same contract suite
/// (`DeliveryQueueContractTests`); one shared `Store` standing in for the server and one
/// `MemoryDeliveryQueue` per thread standing in for a connection. Its errors are `QueueError`s
/// with their code set here, as the Redis driver's are after its mapping.
public final class MemoryDeliveryQueue: DeliveryQueue {
    /// The shared state: what Redis would hold. Thread-safe. Unchecked Sendable: every field is
    /// touched only under `condition` (waited on by a blocking take, so not a `Mutex`).
    public final class Store: @unchecked Sendable {
        let condition = NSCondition()
        /// Producers push at the front (index 0 = left); workers take from the back.
        var queue: [[UInt8]] = []
        var delayed: [(due: Double, item: [UInt8])] = []
        var dead: [[UInt8]] = []
        /// The attempt log, newest first (`AttemptRecord.stored()` entries).
        public internal(set) var log: [[UInt8]] = []
        var processing: [String: [[UInt8]]] = [:]
        var workers: [String: Double] = [:]
        var holders: Set<String> = []
        var admitting: [String: String] = [:]
        var nextTag = 0

        public init() {}

        /// `LPUSH queue item...`.
        public func push(_ items: [[UInt8]]) {
            condition.lock()
            for item in items { queue.insert(item, at: 0) }
            condition.broadcast()
            condition.unlock()
        }

        /// Copies of the lists, for assertions.
        public var snapshot: (queue: [[UInt8]], delayed: Int, dead: [[UInt8]], processing: Int) {
            condition.lock(); defer { condition.unlock() }
            return (queue, delayed.count, dead, processing.values.reduce(0) { $0 + $1.count })
        }

        /// One worker's processing list, newest first (as `LRANGE` reads it), for assertions.
        public func processing(of workerID: String) -> [[UInt8]] {
            condition.lock(); defer { condition.unlock() }
            return processing[workerID] ?? []
        }

        func now() -> Double { Date().timeIntervalSince1970 }
    }

    public let workerID: String
    private let store: Store

    public init(store: Store, workerID: String) {
        self.store = store
        self.workerID = workerID
    }

    private func locked<T>(_ body: (Store) -> T) -> T {
        store.condition.lock()
        defer { store.condition.unlock() }
        return body(store)
    }

    public func take(max: Int, maxBytes: Int) throws(QueueError) -> [[UInt8]] {
        let result: [[UInt8]]? = locked { store in
            guard store.workers[workerID] != nil else { return nil }
            store.holders.insert(workerID)
            var items: [[UInt8]] = [], total = 0
            while items.count < max, let item = store.queue.last {
                if !items.isEmpty && total + item.count > maxBytes { break }
                store.queue.removeLast()
                total += item.count
                var stored = item
                if let first = item.first, first != UInt8(ascii: "#"), first != UInt8(ascii: "@"), first != UInt8(ascii: "!") {
                    store.nextTag += 1
                    stored = Array("#m\(store.nextTag) ".utf8) + item
                }
                items.append(stored)
            }
            store.processing[workerID, default: []].insert(contentsOf: items.reversed(), at: 0)
            return items
        }
        guard let result else {
            throw QueueError(.unregistered, operation: "take", message: "this worker is not in the workers set")
        }
        return result
    }

    public func waitForWork(timeout: Double) throws(QueueError) -> Bool {
        store.condition.lock()
        defer { store.condition.unlock() }
        let deadline = Date().addingTimeInterval(timeout)
        while store.queue.isEmpty {
            if !store.condition.wait(until: deadline) { break }
        }
        return !store.queue.isEmpty
    }

    public func settle(_ settlements: ArraySlice<Settlement>, deadMax: Int) throws(QueueError) -> SettleResult {
        locked { store in
            var result = SettleResult(written: 0, fenced: 0, trimmed: 0)
            let now = store.now()
            for settlement in settlements {
                guard let index = store.processing[workerID]?.lastIndex(of: settlement.ack) else {
                    result.fenced += 1
                    continue
                }
                for outcome in settlement.outcomes {
                    switch outcome {
                    case .retry(let after, let item): store.delayed.append((now + after, item))
                    case .requeue(let item): store.queue.append(item)
                    case .dead(let entry): store.dead.insert(entry, at: 0)
                    }
                }
                store.processing[workerID]?.remove(at: index)
                result.written += 1
                if attemptLog.isOn { store.log.insert(contentsOf: settlement.log.reversed(), at: 0) }
            }
            if attemptLog.isOn && store.log.count > attemptLog.maxRecords {
                store.log.removeLast(store.log.count - attemptLog.maxRecords)
            }
            if attemptLog.isOn, let maxAge = attemptLog.maxAge, maxAge > 0 {
                // As the settle script: records start with their time in ms (`[1733225642123,`);
                // the oldest go while older than the age, at most 1000 a settle.
                let cutoff = (now - maxAge) * 1000
                for _ in 0..<1000 {
                    guard let oldest = store.log.last, let time = Self.recordTime(oldest), time < cutoff else { break }
                    store.log.removeLast()
                }
            }
            if deadMax > 0 && store.dead.count > deadMax {
                result.trimmed = store.dead.count - deadMax
                store.dead.removeLast(result.trimmed)
            }
            store.condition.broadcast()
            return result
        }
    }

    /// An attempt-log record's time (ms), from its leading `[<digits>,`; nil when it has none.
    private static func recordTime(_ record: [UInt8]) -> Double? {
        guard record.first == UInt8(ascii: "["), let comma = record.firstIndex(of: UInt8(ascii: ",")) else { return nil }
        return Double(String(decoding: record[1..<comma], as: UTF8.self))
    }

    /// Ordered endpoints need Redis (their per-key state is Redis's): the memory driver never
    /// fans out into them, so there is nothing to claim.
    public func claimOrdered(_ route: OrderedRoute, max: Int, leaseMillis: Int) throws(QueueError) -> (claims: [OrderedClaim], nextDueIn: Double?) {
        ([], nil)
    }

    /// See `claimOrdered`: no claim exists, so every settle is fenced.
    public func settleOrdered(_ settlements: [OrderedSettlement], deadMax: Int) throws(QueueError) -> SettleResult {
        SettleResult(written: 0, fenced: settlements.count, trimmed: 0)
    }

    /// One process's memory has no replicas.
    public func connectedReplicas() throws(QueueError) -> Int { 0 }

    public func waitForReplicas(_ count: Int, timeoutMillis: Int) throws(QueueError) -> Int { 0 }

    public func promoteDue(limit: Int) throws(QueueError) -> (moved: Int, nextDueIn: Double?) {
        locked { store in
            let now = store.now()
            store.delayed.sort { $0.due < $1.due }
            var moved = 0
            while moved < limit, let first = store.delayed.first, first.due <= now {
                store.delayed.removeFirst()
                store.queue.append(first.item)
                moved += 1
            }
            if moved > 0 { store.condition.broadcast() }
            return (moved, store.delayed.first.map { max(0, $0.due - now) })
        }
    }

    public func heartbeat(join: Bool, leaseMillis: Int) throws(QueueError) -> Heartbeat {
        locked { store in
            let now = store.now()
            let last = store.workers[workerID]
            if join {
                if let last, last >= now - Double(leaseMillis) / 1000 { return .idTaken }
                store.workers[workerID] = now
                return .alive
            }
            guard last != nil else { return .unregistered }
            store.workers[workerID] = now
            return .alive
        }
    }

    public func reapCandidates(leaseMillis: Int) throws(QueueError) -> [String] {
        locked { store in
            let cutoff = store.now() - Double(leaseMillis) / 1000
            return store.workers.filter { $0.value < cutoff }.map(\.key) + store.holders.subtracting(store.workers.keys)
        }
    }

    public func reap(worker: String, leaseMillis: Int) throws(QueueError) -> Int? {
        locked { store in
            if let last = store.workers[worker], last >= store.now() - Double(leaseMillis) / 1000 { return nil }
            let blame = store.admitting[worker]
            let items = store.processing.removeValue(forKey: worker) ?? []
            for item in items {  // newest first, each to the taking end: the oldest is taken next
                var count = 0, inner = item[...]
                if item.first == UInt8(ascii: "!"), let space = item.firstIndex(of: UInt8(ascii: " ")) {
                    count = Int(String(decoding: item[1..<space], as: UTF8.self)) ?? 0
                    inner = item[(space + 1)...]
                }
                if blame == nil || Hex.string(Insecure.SHA1.hash(data: item)) == blame { count += 1 }
                store.queue.append(count > 0 ? Array("!\(count) ".utf8) + inner : Array(inner))
            }
            store.workers.removeValue(forKey: worker)
            store.holders.remove(worker)
            store.admitting.removeValue(forKey: worker)
            store.condition.broadcast()
            return items.count
        }
    }

    public func markAdmitting(sha1: String?) throws(QueueError) {
        locked { $0.admitting[workerID] = sha1 }
    }

    /// One store, one "server": it never changes.
    public var serverID: String? { "memory" }
    public var pinnedServerID: String?
    public var attemptLog = AttemptLogConfiguration(maxRecords: 0)

    public func restore(_ items: [[UInt8]]) throws(QueueError) -> Int {
        locked { store in
            var restored = 0
            for item in items where !(store.processing[workerID]?.contains(item) ?? false) {
                store.processing[workerID, default: []].insert(item, at: 0)
                restored += 1
            }
            if restored > 0 { store.holders.insert(workerID) }
            return restored
        }
    }

    public func processingItems() throws(QueueError) -> [[UInt8]] {
        locked { $0.processing[workerID] ?? [] }
    }

    public func release(_ items: [[UInt8]]) throws(QueueError) -> Int {
        locked { store in
            var moved = 0
            for item in items {
                guard let index = store.processing[workerID]?.lastIndex(of: item) else { continue }
                store.processing[workerID]?.remove(at: index)
                store.queue.append(item)
                moved += 1
            }
            store.condition.broadcast()
            return moved
        }
    }

    public func handBack() throws(QueueError) -> Int {
        locked { store in
            let items = store.processing.removeValue(forKey: workerID) ?? []
            store.queue.append(contentsOf: items)
            store.condition.broadcast()
            return items.count
        }
    }

    public func deregister() throws(QueueError) -> Bool {
        locked { store in
            guard store.processing[workerID]?.isEmpty ?? true else { return false }
            store.workers.removeValue(forKey: workerID)
            store.holders.remove(workerID)
            store.admitting.removeValue(forKey: workerID)
            return true
        }
    }

    public func push(_ items: [[UInt8]]) throws(QueueError) { store.push(items) }

    public func maxmemoryPolicy() throws(QueueError) -> String? { nil }
}
