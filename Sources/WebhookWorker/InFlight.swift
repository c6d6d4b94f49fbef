import Foundation
import WebhookCore

/// One attempt of one event to one target, as carried by an HTTP request.
struct DeliveryUnit: Sendable {
    let eventID: UInt64
    let target: Target
    /// Failed attempts to this target before this one (the `tries` in the body).
    let tries: Int
    let webhookID: String
}

/// What becomes of one delivery unit once its attempt is over.
enum Resolution: Sendable {
    case delivered
    case retry(due: Double, item: [UInt8])
    case requeue(item: [UInt8])
    case dead(entry: [UInt8])
}

/// An event taken from the queue and not yet settled: it stays in the worker's processing list
/// until every target is resolved, then all its outcomes are written in one atomic settle.
struct InFlightEvent: Sendable {
    /// The exact bytes in the processing list, to remove it on settle.
    let stored: [UInt8]
    let event: Event?
    var pending: Int
    var resolutions: [Resolution] = []
}

/// The events and requests a worker holds in flight; shared by the taker (adds) and the settler
/// (resolves). The taker waits here when `maxEvents` are held.
final class InFlightTable: @unchecked Sendable {
    private let condition = NSCondition()
    private var events: [UInt64: InFlightEvent] = [:]
    private var requests: [UInt64: [DeliveryUnit]] = [:]
    private let maxEvents: Int

    init(maxEvents: Int) { self.maxEvents = maxEvents }

    var eventCount: Int {
        condition.lock(); defer { condition.unlock() }
        return events.count
    }

    /// Blocks until fewer than `maxEvents` are held (or `stop` is set); returns the free room.
    func waitForRoom(stop: StopSignal) -> Int {
        condition.lock(); defer { condition.unlock() }
        while events.count >= maxEvents && !stop.isStopped {
            _ = condition.wait(until: Date(timeIntervalSinceNow: 0.5))
        }
        return max(0, maxEvents - events.count)
    }

    /// Blocks until nothing is held or the deadline passes; true when empty.
    func waitUntilEmpty(deadline: Date) -> Bool {
        condition.lock(); defer { condition.unlock() }
        while !events.isEmpty {
            if !condition.wait(until: deadline) { return events.isEmpty }
        }
        return true
    }

    func add(events newEvents: [(UInt64, InFlightEvent)], requests newRequests: [(UInt64, [DeliveryUnit])]) {
        condition.lock(); defer { condition.unlock() }
        for (id, event) in newEvents { events[id] = event }
        for (token, units) in newRequests { requests[token] = units }
    }

    /// Removes and returns the units a finished request carried.
    func takeRequest(_ token: UInt64) -> [DeliveryUnit]? {
        condition.lock(); defer { condition.unlock() }
        return requests.removeValue(forKey: token)
    }

    func event(_ id: UInt64) -> Event? {
        condition.lock(); defer { condition.unlock() }
        return events[id]?.event
    }

    /// Records resolutions; returns the events that have no target left, removed from the table.
    func resolve(_ outcomes: [(UInt64, Resolution)]) -> [InFlightEvent] {
        condition.lock(); defer { condition.unlock() }
        var finished: [InFlightEvent] = []
        for (id, resolution) in outcomes {
            guard var event = events[id] else { continue }
            event.resolutions.append(resolution)
            event.pending -= 1
            if event.pending <= 0 {
                events.removeValue(forKey: id)
                finished.append(event)
            } else {
                events[id] = event
            }
        }
        return finished
    }

    /// Removes events that need no delivery (malformed ones, already resolved at take).
    func removeFinished(_ ids: [UInt64]) -> [InFlightEvent] {
        condition.lock(); defer { condition.unlock() }
        return ids.compactMap { events.removeValue(forKey: $0) }
    }

    /// Wakes the taker after the settler freed room.
    func signalRoom() {
        condition.lock()
        condition.broadcast()
        condition.unlock()
    }
}
