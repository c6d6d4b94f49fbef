import Foundation
import Logging

/// Whether the taker may take: closed while outcomes or heartbeats cannot be written (Redis out
/// of memory, a read-only replica) and while the worker is not registered.
///
/// Taking still works when Redis refuses other writes under `noeviction` (the take script only
/// moves items), so without this gate a worker would keep filling its processing list with
/// work it cannot settle. Each reason is logged once when it starts, with Redis's message, and
/// once when it ends; the gate reopens by itself.
///
/// Unchecked Sendable: `closed` is read and written only under `condition`.
final class TakeGate: @unchecked Sendable {
    enum Reason: String, Sendable, CaseIterable {
        case settle = "outcomes cannot be written"
        case heartbeat = "heartbeats cannot be written"
        case unregistered = "this worker is not registered (its lease expired; joining again)"
    }

    private let condition = NSCondition()
    private var closed: [Reason: String] = [:]
    private let logger: Logger

    init(logger: Logger) { self.logger = logger }

    func close(_ reason: Reason, message: String) {
        condition.lock()
        let wasClosed = closed[reason] != nil
        closed[reason] = message
        condition.unlock()
        if !wasClosed {
            logger.warning("taking paused: \(reason.rawValue)", metadata: ["error": "\(message)"])
        }
    }

    func open(_ reason: Reason) {
        condition.lock()
        let wasClosed = closed.removeValue(forKey: reason) != nil
        condition.broadcast()
        condition.unlock()
        if wasClosed { logger.info("taking resumed: \(reason.rawValue) no longer") }
    }

    /// Whether nothing closes the gate now (the dispatcher's ordered claims ask without waiting).
    var isOpen: Bool {
        condition.lock(); defer { condition.unlock() }
        return closed.isEmpty
    }

    /// Blocks while closed (or until `stop`); true when open.
    /// - Parameter beat: called every half second while closed: waiting here is on purpose
    ///   (Redis refuses writes), not a stall, so `/livez` must not restart the worker for it.
    func waitUntilOpen(stop: StopSignal, beat: () -> Void = {}) -> Bool {
        condition.lock(); defer { condition.unlock() }
        while !closed.isEmpty && !stop.isStopped {
            _ = condition.wait(until: Date(timeIntervalSinceNow: 0.5))
            condition.unlock()
            beat()
            condition.lock()
        }
        return closed.isEmpty
    }
}
