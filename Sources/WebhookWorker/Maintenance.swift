import Foundation
import Logging
import WebhookCore
import WebhookQueue

/// The maintenance thread: joining and heartbeats, reaping and sweeping dead workers'
/// processing lists, and the poller that moves due retries from the delayed set to the queue.
///
/// Leases and due times are Redis's clock, so workers whose clocks disagree still agree on who
/// is alive and what is due. The poller runs every `JOB_SEND_NOTIFICATIONS_INTERVAL` seconds,
/// and earlier when a retry falls due sooner.
///
/// Unchecked Sendable: `nextPoll` is shared with the dispatcher (`noteRetry`) under `condition`;
/// `idTaken` belongs to the starting thread (see its doc); everything else is immutable.
final class Maintenance: @unchecked Sendable {
    private let configuration: Configuration
    private let workerID: String
    private let stop: StopSignal
    private let gate: TakeGate
    private let liveness: Liveness
    private let logger: Logger
    /// Opens this thread's own queue connection (Redis, or memory in tests).
    private let makeQueue: @Sendable () -> any DeliveryQueue
    private let condition = NSCondition()
    private var nextPoll = Date.distantPast   // guarded by `condition`
    /// Set when another live worker already uses this worker's ID: the process must not start.
    /// Written by `join` and read after it, on the thread that runs `WorkerRuntime.start()`.
    private(set) var idTaken = false

    init(configuration: Configuration, workerID: String, stop: StopSignal, gate: TakeGate, liveness: Liveness,
         logger: Logger, makeQueue: @escaping @Sendable () -> any DeliveryQueue) {
        self.makeQueue = makeQueue
        self.configuration = configuration
        self.workerID = workerID
        self.stop = stop
        self.gate = gate
        self.liveness = liveness
        self.logger = logger
    }

    /// Brings the next poll forward to `delay` seconds from now if that is sooner.
    func noteRetry(in delay: Double) {
        condition.lock()
        let date = Date().addingTimeInterval(max(0, delay))
        if date < nextPoll { nextPoll = date }
        condition.signal()
        condition.unlock()
    }

    func wake() {
        condition.lock(); condition.signal(); condition.unlock()
    }

    /// Joins the workers set, retrying while Redis is unreachable. Returns false when another
    /// live worker has this ID (or `abort` was set: a stop before the worker started).
    func join(_ queue: any DeliveryQueue, abort: StopSignal) -> Bool {
        var retry = RetryLog(what: "joining the workers set", logger: logger)
        while !abort.isStopped {
            do {
                switch try queue.heartbeat(join: true, leaseMillis: leaseMillis) {
                case .idTaken:
                    idTaken = true
                    return false
                default:
                    retry.succeeded()
                    return true
                }
            } catch {
                abort.sleep(retry.failed(error))
            }
        }
        return false
    }

    private var leaseMillis: Int { Int(configuration.worker.lease * 1000) }

    func run() {
        let queue = makeQueue()
        let heartbeatEvery = configuration.worker.lease / 3
        var nextHeartbeat = Date()
        var retry = RetryLog(what: "maintenance", logger: logger)
        var warnedPolicy = false

        while !stop.isStopped {
            liveness.beat("maintenance")
            do {
                if !warnedPolicy {
                    if let policy = try queue.maxmemoryPolicy(), policy.hasPrefix("allkeys") || policy.hasPrefix("volatile") {
                        logger.warning("Redis maxmemory-policy can evict the queue's keys; set it to noeviction",
                                       metadata: ["maxmemory-policy": "\(policy)"])
                    }
                    warnedPolicy = true
                }
                if Date() >= nextHeartbeat {
                    try heartbeat(queue)
                    nextHeartbeat = Date().addingTimeInterval(heartbeatEvery)
                    try reap(queue)
                }
                if Date() >= pollDate() {
                    try promoteDue(queue)
                }
                retry.succeeded()
            } catch {
                if error.code == .outOfMemory || error.code == .readOnly {
                    gate.close(.heartbeat, message: error.message)
                }
                stop.sleep(retry.failed(error)) { [liveness] in liveness.beat("maintenance") }
                continue
            }
            sleep(until: min(nextHeartbeat, pollDate()))
        }
        liveness.unregister("maintenance")
        do {
            let handed = try queue.handBack()
            if handed > 0 { logger.info("handed back held events", metadata: ["events": "\(handed)"]) }
            _ = try queue.deregister()
        } catch {
            logger.error("could not hand back at exit; another worker will requeue after the lease",
                         metadata: ["error": "\(error)"])
        }
    }

    /// Refreshes the lease; a worker that finds itself unregistered (reaped while alive, e.g.
    /// paused longer than the lease) stops taking and joins again. What it held was requeued by
    /// the reaper; its own outcomes for those items are fenced out at settle.
    private func heartbeat(_ queue: any DeliveryQueue) throws(QueueError) {
        switch try queue.heartbeat(join: false, leaseMillis: leaseMillis) {
        case .alive:
            gate.open(.heartbeat)
        case .unregistered, .idTaken:
            gate.close(.unregistered, message: "not in the workers set at heartbeat")
            switch try queue.heartbeat(join: true, leaseMillis: leaseMillis) {
            case .idTaken:
                logger.error("another live worker uses this WEBHOOK_WORKER_ID; not taking work until it is gone")
            default:
                logger.warning("this worker was not in the workers set (reaped after its lease expired while it was alive, or Redis lost its data); joined again")
                gate.open(.heartbeat)
                gate.open(.unregistered)
            }
        }
    }

    /// Reaps expired workers and sweeps processing lists that belong to no registered worker.
    private func reap(_ queue: any DeliveryQueue) throws(QueueError) {
        for worker in try queue.reapCandidates(leaseMillis: leaseMillis) where worker != workerID {
            if let moved = try queue.reap(worker: worker, leaseMillis: leaseMillis), moved > 0 {
                logger.warning("requeued the events of a worker whose lease expired",
                               metadata: ["worker_id": "\(worker)", "events": "\(moved)"])
            }
        }
    }

    private func promoteDue(_ queue: any DeliveryQueue) throws(QueueError) {
        let limit = 1000
        var moved = 0
        var nextDueIn: Double?
        while true {
            let result = try queue.promoteDue(limit: limit)
            moved += result.moved
            nextDueIn = result.nextDueIn
            if result.moved < limit { break }
        }
        if moved > 0 { logger.debug("moved due retries to the queue", metadata: ["count": "\(moved)"]) }
        var next = Date().addingTimeInterval(configuration.worker.pollInterval)
        if let nextDueIn {
            // Never sooner than 10 ms: a member added between the two calls must not spin us.
            next = min(next, Date().addingTimeInterval(max(nextDueIn, 0.01)))
        }
        condition.lock()
        nextPoll = next
        condition.unlock()
    }

    private func pollDate() -> Date {
        condition.lock(); defer { condition.unlock() }
        return nextPoll
    }

    private func sleep(until date: Date) {
        condition.lock()
        defer { condition.unlock() }
        // Wakes on noteRetry/wake; bounded so the loop beats for /livez.
        let bounded = min(date, Date().addingTimeInterval(1))
        if bounded > Date() && nextPoll >= bounded {
            _ = condition.wait(until: bounded)
        }
    }
}
