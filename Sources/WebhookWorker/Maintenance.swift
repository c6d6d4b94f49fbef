import Foundation
import Logging
import WebhookCore
import WebhookRedis

/// The maintenance thread: heartbeat, reaping of dead workers, and the poller that moves due
/// retries from the delayed set back to the queue.
///
/// The poller runs every `JOB_SEND_NOTIFICATIONS_INTERVAL` seconds, and earlier when a retry
/// this worker scheduled (or the earliest one in the set) falls due sooner.
final class Maintenance: @unchecked Sendable {
    private let configuration: Configuration
    private let workerID: String
    private let stop: StopSignal
    private let logger: Logger
    private let condition = NSCondition()
    private var nextPoll = Date.distantPast
    /// Set once the first heartbeat is written: only a registered worker's processing list can
    /// be reaped, so the taker waits for it.
    let registered = StopSignal()

    init(configuration: Configuration, workerID: String, stop: StopSignal, logger: Logger) {
        self.configuration = configuration
        self.workerID = workerID
        self.stop = stop
        self.logger = logger
    }

    /// Brings the next poll forward to `due` (Unix seconds) if that is sooner.
    func noteRetry(due: Double) {
        condition.lock()
        let date = Date(timeIntervalSince1970: due)
        if date < nextPoll { nextPoll = date }
        condition.signal()
        condition.unlock()
    }

    func wake() {
        condition.lock(); condition.signal(); condition.unlock()
    }

    func run() {
        let queue = RedisQueue(url: configuration.redis, prefix: configuration.keyPrefix, workerID: workerID)
        let leaseMillis = Int(configuration.lease * 1000)
        let heartbeatEvery = configuration.lease / 3
        var nextHeartbeat = Date.distantPast
        var backoff = Backoff()
        var warnedPolicy = false

        while !stop.isStopped {
            do {
                if !warnedPolicy {
                    if let policy = try queue.maxmemoryPolicy(), policy.hasPrefix("allkeys") {
                        logger.warning("Redis maxmemory-policy can evict the queue's keys; set it to noeviction",
                                       metadata: ["maxmemory-policy": "\(policy)"])
                    }
                    warnedPolicy = true
                }
                let now = Date()
                if now >= nextHeartbeat {
                    let millis = Int(now.timeIntervalSince1970 * 1000)
                    try queue.heartbeat(nowMillis: millis)
                    registered.stop()
                    let reaped = try queue.reap(nowMillis: millis, leaseMillis: leaseMillis)
                    if reaped > 0 {
                        logger.warning("requeued the events of workers whose heartbeat expired", metadata: ["events": "\(reaped)"])
                    }
                    nextHeartbeat = now.addingTimeInterval(heartbeatEvery)
                }
                if now >= pollDate() {
                    try promoteDue(queue)
                }
                backoff.reset()
            } catch {
                let delay = backoff.next()
                logger.warning("maintenance failed, retrying", metadata: [
                    "error": "\(error)", "retry_in": "\(String(format: "%.2f", delay))s"])
                stop.sleep(delay)
                continue
            }
            sleep(until: min(nextHeartbeat, pollDate()))
        }
        do {
            let handed = try queue.handBack()
            if handed > 0 { logger.info("handed back held events", metadata: ["events": "\(handed)"]) }
            try queue.deregister()
        } catch {
            logger.error("could not hand back at exit; another worker will requeue after the lease",
                         metadata: ["error": "\(error)"])
        }
    }

    private func promoteDue(_ queue: RedisQueue) throws {
        let limit = 1000
        var moved = 0
        while true {
            let count = try queue.promoteDue(now: Date().timeIntervalSince1970, limit: limit)
            moved += count
            if count < limit { break }
        }
        if moved > 0 { logger.debug("moved due retries to the queue", metadata: ["count": "\(moved)"]) }
        var next = Date().addingTimeInterval(configuration.pollInterval)
        if let due = try queue.nextDue() {
            // Never sooner than 10 ms: a member added between the two calls must not spin us.
            next = min(next, max(Date(timeIntervalSince1970: due), Date().addingTimeInterval(0.01)))
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
        // Wakes on noteRetry/wake; the stop signal's wake goes through wake() too.
        if date > Date() && nextPoll >= date {
            _ = condition.wait(until: date)
        }
    }
}
