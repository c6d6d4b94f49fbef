import Foundation
import Logging
import Metrics
import Synchronization
import WebhookCore
import WebhookQueue

/// The taker thread: waits on Redis for work (a blocking command, no polling), moves batches
/// into the worker's processing list within the room's count and byte budget, and hands them
/// to the dispatcher. It decides nothing about delivery.
///
/// When a take fails on the connection, Redis may have run the script and lost only the reply:
/// the items would sit in the processing list with no one working on them. After a failover the
/// new master's list may also hold items this worker settled on the old one (asynchronous
/// replication lost the settle). So after such a failure, after this connection or the
/// dispatcher's reached another server, and at start (a list left by an earlier process with
/// this ID), the taker reconciles: whatever the processing list holds that the room does not
/// goes back to the queue.
final class Taker: Sendable {
    private let configuration: Configuration
    private let workerID: String
    private let room: Room
    private let gate: TakeGate
    private let dispatcher: Dispatcher
    private let stop: StopSignal
    private let liveness: Liveness
    private let logger: Logger
    /// Opens this thread's own queue connection (Redis, or memory in tests).
    private let makeQueue: @Sendable () -> any DeliveryQueue
    private let taken = Counter(label: MetricNames.eventsTaken)
    private let reconcileRequested = Mutex(false)

    init(configuration: Configuration, workerID: String, room: Room, gate: TakeGate, dispatcher: Dispatcher,
         stop: StopSignal, liveness: Liveness, logger: Logger, makeQueue: @escaping @Sendable () -> any DeliveryQueue) {
        self.makeQueue = makeQueue
        self.configuration = configuration
        self.workerID = workerID
        self.room = room
        self.gate = gate
        self.dispatcher = dispatcher
        self.stop = stop
        self.liveness = liveness
        self.logger = logger
    }

    func run() {
        let queue = makeQueue()
        var retry = RetryLog(what: "taking work", logger: logger)
        var mustReconcile = true
        var reconciledServer: String?
        while !stop.isStopped {
            liveness.beat("taker")
            guard gate.waitUntilOpen(stop: stop, beat: beat) else { continue }
            let free = room.waitForRoom(stop: stop, beat: beat)
            if stop.isStopped { break }
            do {
                // After this connection or the dispatcher's reached another server, that
                // server's processing list may hold what this worker settled elsewhere.
                if mustReconcile || queue.serverID != reconciledServer || takeReconcileRequest() {
                    try reconcile(queue)
                    reconciledServer = queue.serverID
                    mustReconcile = false
                }
                let items = try queue.take(max: min(configuration.worker.batchSize, free.events), maxBytes: free.bytes)
                retry.succeeded()
                // Stopped while the take ran (a slow Redis): the stop no longer waits for this
                // thread, so leave the items in the processing list for the hand-back.
                if stop.isStopped { break }
                if items.isEmpty {
                    // Blocks in Redis until a producer pushes; the timeout only bounds how long a
                    // stop request waits.
                    _ = try queue.waitForWork(timeout: 1)
                    continue
                }
                room.add(items)
                taken.increment(by: Int64(items.count))
                dispatcher.post(taken: items)
            } catch {
                switch error.code {
                case .unregistered:
                    // Reaped while alive: maintenance joins again, then the gate reopens.
                    gate.close(.unregistered, message: error.message)
                    continue
                case .connection:
                    mustReconcile = true
                default:
                    break
                }
                stop.sleep(retry.failed(error), beat: beat)
            }
        }
    }

    /// Progress for `/livez` while waiting on purpose (closed gate, full room, backoff).
    private func beat() { liveness.beat("taker") }

    /// Asks the taker to reconcile before its next take (the dispatcher reached another server).
    func requestReconcile() {
        reconcileRequested.withLock { $0 = true }
    }

    private func takeReconcileRequest() -> Bool {
        reconcileRequested.withLock { requested in
            defer { requested = false }
            return requested
        }
    }

    /// Returns to the queue what this worker's processing list holds and its memory does not.
    private func reconcile(_ queue: any DeliveryQueue) throws(QueueError) {
        let stranded = try queue.processingItems().filter { !room.holds($0) }
        guard !stranded.isEmpty else { return }
        let moved = try queue.release(stranded)
        if moved > 0 {
            logger.warning("returned items this worker held in Redis but not in memory (a lost reply, or settles a failover lost) to the queue",
                           metadata: ["events": "\(moved)"])
        }
    }
}
