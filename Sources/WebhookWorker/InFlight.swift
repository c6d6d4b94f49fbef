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
    /// Units submitted and not yet resolved, per target.
    private var backlog: [Target: Int] = [:]
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

    /// Counts one more unit for `target`, unless its backlog is already `slack` ahead of the
    /// least loaded of `others`: a slow or hung endpoint must not fill the worker's in-flight
    /// room and hold back the endpoints that answer. Healthy endpoints move in step, so this only
    /// trips for one that lags.
    func reserve(_ target: Target, others: [Target], slack: Int) -> Bool {
        condition.lock(); defer { condition.unlock() }
        let mine = backlog[target, default: 0]
        let least = others.lazy.filter { $0 != target }.map { self.backlog[$0, default: 0] }.min()
        if let least, mine - least >= slack { return false }
        backlog[target] = mine + 1
        return true
    }

    /// Removes and returns the units a finished request carried, releasing their backlog.
    func takeRequest(_ token: UInt64) -> [DeliveryUnit]? {
        condition.lock(); defer { condition.unlock() }
        guard let units = requests.removeValue(forKey: token) else { return nil }
        for unit in units { backlog[unit.target, default: 1] -= 1 }
        return units
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
