import Foundation

/// The taker's budget: events and bytes a worker holds, from the take until their outcome is
/// persisted. Shared by the taker (adds, waits) and the dispatcher (releases after a settle).
///
/// Room is freed only when Redis has the outcome: while settles fail (Redis out of memory, or
/// down), what is held stays counted, so the processing list cannot outgrow
/// `WEBHOOK_MAX_INFLIGHT` and `WEBHOOK_MAX_INFLIGHT_BYTES`.
///
/// Unchecked Sendable: `events`, `bytes` and `items` are touched only under `condition` (a
/// condition variable, which the taker waits on, so not a `Mutex`); the rest is immutable.
final class Room: @unchecked Sendable {
    private let condition = NSCondition()
    private var events = 0
    private var bytes = 0
    /// What is held, byte for byte: lets the taker tell a stranded item (its take reply was
    /// lost) from one in flight.
    private var items: [HeldItem: Int] = [:]
    let maxEvents: Int
    let maxBytes: Int
    /// Bytes counted per stored byte: the stored item plus about one request body per target.
    let weight: Int

    init(maxEvents: Int, maxBytes: Int, targets: Int) {
        self.maxEvents = maxEvents
        self.maxBytes = maxBytes
        self.weight = 1 + max(1, targets)
    }

    var heldEvents: Int {
        condition.lock(); defer { condition.unlock() }
        return events
    }

    /// The events held when the room is full (by events or bytes: the taker waits until a settle
    /// frees some); nil while there is room.
    var fullHolding: Int? {
        condition.lock(); defer { condition.unlock() }
        return isFull ? events : nil
    }

    /// Full by events or bytes: what the taker waits on. Read under `condition`.
    private var isFull: Bool { events >= maxEvents || bytes >= maxBytes }

    /// Blocks until there is room for at least one event (or `stop` is set); returns how many
    /// events and stored bytes may be taken now.
    /// - Parameter beat: called every half second while full: a full room waits for the
    ///   dispatcher (which `/livez` watches on its own), so the taker is not stalled.
    func waitForRoom(stop: StopSignal, beat: () -> Void = {}) -> (events: Int, bytes: Int) {
        condition.lock(); defer { condition.unlock() }
        while isFull && !stop.isStopped {
            _ = condition.wait(until: Date(timeIntervalSinceNow: 0.5))
            condition.unlock()
            beat()
            condition.lock()
        }
        return (max(0, maxEvents - events), max(0, maxBytes - bytes) / weight)
    }

    /// Counts items just taken.
    func add(_ taken: [[UInt8]]) {
        condition.lock(); defer { condition.unlock() }
        for item in taken {
            events += 1
            bytes += item.count * weight
            items[HeldItem(item), default: 0] += 1
        }
    }

    /// Frees the room of items whose outcome Redis now has (or that left the processing list).
    func release(_ acks: some Sequence<[UInt8]>) {
        condition.lock(); defer { condition.unlock() }
        for ack in acks {
            let key = HeldItem(ack)
            guard let index = items.index(forKey: key) else { continue }
            if items.values[index] > 1 { items.values[index] -= 1 } else { items.remove(at: index) }
            events -= 1
            bytes -= ack.count * weight
        }
        condition.broadcast()
    }

    /// Whether `item` is held in memory.
    func holds(_ item: [UInt8]) -> Bool {
        condition.lock(); defer { condition.unlock() }
        return items[HeldItem(item)] != nil
    }

    /// Every item held, once per copy held.
    func heldItems() -> [[UInt8]] {
        condition.lock(); defer { condition.unlock() }
        return items.flatMap { item, count in Array(repeating: item.bytes, count: count) }
    }

    /// Blocks until nothing is held or the deadline passes; true when empty.
    func waitUntilEmpty(deadline: Date) -> Bool {
        condition.lock(); defer { condition.unlock() }
        while events > 0 {
            if !condition.wait(until: deadline) { return events == 0 }
        }
        return true
    }
}
