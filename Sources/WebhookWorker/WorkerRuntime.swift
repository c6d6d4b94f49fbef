import Crypto
import Foundation
import Logging
import WebhookCore
import WebhookHTTP
import WebhookRedis

/// Why a worker could not start.
public struct WorkerStartError: Error, CustomStringConvertible {
    public let description: String
}

/// One worker process's delivery machinery: the taker, dispatcher, HTTP and maintenance threads.
///
/// `start()` joins the workers set and launches the threads; `stop()` stops taking, lets what is
/// in flight finish within `WEBHOOK_SHUTDOWN_GRACE`, hands back the rest, and returns when every
/// thread has ended.
public final class WorkerRuntime: @unchecked Sendable {
    public let workerID: String
    /// What `/livez` watches: `start()` registers the loops in ``loopNames`` with
    /// ``stallBound``; each loop beats its name on every iteration.
    public let liveness = Liveness()
    /// The names the taker, dispatcher and maintenance loops beat under in ``liveness``.
    public static let loopNames = ["taker", "dispatcher", "maintenance"]
    /// Seconds a loop may go without a beat before `/livez` calls it stalled: 60, or
    /// 2 × WEBHOOK_TIMEOUT + 40, or WEBHOOK_LEASE / 3 + 40, whichever is largest. Generous on
    /// purpose: one iteration may sit in a bounded Redis call (10 s read timeout, 5 s connect,
    /// BLMOVE's own timeout + 5 s), wait for HTTP requests to time out, or (maintenance) sleep
    /// until the next heartbeat, and a restart must only ever cure a real stall.
    public let stallBound: Double
    private let configuration: Configuration
    private let logger: Logger
    private let room: Room
    private let gate: TakeGate
    private let dispatcher: Dispatcher
    private let http: HTTPClient
    private let taker: Taker
    private let maintenance: Maintenance
    private let takerStop = StopSignal()
    private let maintenanceStop = StopSignal()
    /// Ends a join still waiting for Redis when a stop comes before the start finished.
    private let startAbort = StopSignal()
    private var threads: [String: WorkerThread] = [:]
    private let stopOnce = NSLock()
    private var stopped = false

    /// Opens one queue connection per thread.
    private let makeQueue: @Sendable () -> any DeliveryQueue

    /// - Parameter queues: opens a queue driver for a worker ID, once per thread; Redis by
    ///   default, `MemoryDeliveryQueue` in tests.
    /// - Throws: when the HTTP client cannot start.
    public init(configuration: Configuration, workerID: String? = nil, logger: Logger,
                queues: (@Sendable (String) -> any DeliveryQueue)? = nil) throws {
        let targets = configuration.targets
        let id = workerID ?? configuration.worker.id ?? Self.generatedID()
        self.workerID = id
        let open = queues ?? { id in RedisQueue(url: configuration.redis.url, prefix: configuration.redis.keyPrefix, workerID: id) }
        let makeQueue: @Sendable () -> any DeliveryQueue = { open(id) }
        self.makeQueue = makeQueue
        self.configuration = configuration
        self.stallBound = max(60, 2 * configuration.http.timeout + 40, configuration.worker.lease / 3 + 40)
        self.logger = logger
        let room = Room(maxEvents: configuration.worker.maxInflightEvents, maxBytes: configuration.worker.maxInflightBytes,
                        targets: targets.count)
        let gate = TakeGate(logger: logger)
        let dispatcher = Dispatcher(configuration: configuration, workerID: id, targets: targets,
                                    authenticator: ItemAuthenticator(keyMaterial: configuration.worker.itemKeyMaterial),
                                    room: room, gate: gate, liveness: liveness, logger: logger, makeQueue: makeQueue)
        let http = try HTTPClient(maxConcurrent: configuration.http.concurrency,
                                  maxPerLane: configuration.http.endpointConcurrency, logger: logger,
                                  onComplete: { dispatcher.post(responses: $0) })
        dispatcher.http = http
        // Fleet-wide rate limits and breakers live in Redis; the in-memory driver has none.
        dispatcher.endpointGuard = EndpointGuard(
            state: queues == nil ? EndpointState(url: configuration.redis.url, prefix: configuration.redis.keyPrefix) : nil,
            configuration: configuration, workerID: id, logger: logger)
        self.room = room
        self.gate = gate
        self.dispatcher = dispatcher
        self.http = http
        let maintenance = Maintenance(configuration: configuration, workerID: id, stop: maintenanceStop, gate: gate,
                                      liveness: liveness, logger: logger, makeQueue: makeQueue)
        self.maintenance = maintenance
        self.taker = Taker(configuration: configuration, workerID: id, room: room, gate: gate, dispatcher: dispatcher,
                           stop: takerStop, liveness: liveness, logger: logger, makeQueue: makeQueue)
        dispatcher.onRetryScheduled = { maintenance.noteRetry(in: $0) }
    }

    /// Joins the workers set (waiting while Redis is unreachable), then starts the threads.
    /// Blocks: call it off the cooperative pool.
    /// - Throws: when another live worker already uses this worker's ID.
    public func start() throws {
        guard maintenance.join(makeQueue(), abort: startAbort) else {
            if maintenance.idTaken {
                throw WorkerStartError(description: "another live worker uses WEBHOOK_WORKER_ID '\(workerID)'; "
                    + "give each worker its own ID (or leave it unset), or wait WEBHOOK_LEASE seconds after the other one stopped")
            }
            return
        }
        threads = [
            "maintenance": WorkerThread(name: "maintenance", maintenance.run),
            "dispatcher": WorkerThread(name: "dispatcher", dispatcher.run),
            "taker": WorkerThread(name: "taker", taker.run),
        ]
        for name in Self.loopNames { liveness.register(name, bound: stallBound) }
        for name in ["maintenance", "dispatcher", "taker"] { threads[name]?.start() }
        // Every endpoint the worker delivers to, wherever it was configured (WEBHOOK_ADDRESS,
        // DISCORD_WEBHOOK_URL or the endpoints file), by name: names never carry secrets.
        let targets = configuration.targets
        logger.info("worker started", metadata: [
            "worker_id": "\(workerID)", "endpoints": "\(targets.count)",
            "endpoint_names": "\(targets.map(\.name).joined(separator: ","))",
            "discord": "\(targets.contains { $0.kind == .discord })", "compat": "\(configuration.endpoints.compat.rawValue)",
            "redis": "\(configuration.redis.url)"])
    }

    /// Stops cleanly; safe to call more than once (later calls return at once).
    public func stop() {
        stopOnce.lock()
        if stopped { stopOnce.unlock(); return }
        stopped = true
        stopOnce.unlock()

        let deadline = Date().addingTimeInterval(configuration.worker.shutdownGrace)
        logger.info("stopping: no new work is taken", metadata: ["in_flight": "\(room.heldEvents)"])
        startAbort.stop()
        takerStop.stop()
        threads["taker"]?.join()
        liveness.unregister("taker")
        // What has not reached the wire goes back at once; what is on the wire may finish.
        http.cancelWaiting()
        if !room.waitUntilEmpty(deadline: deadline) {
            logger.info("grace period over: handing back what is still in flight", metadata: ["events": "\(room.heldEvents)"])
            http.cancelAll()
            _ = room.waitUntilEmpty(deadline: Date().addingTimeInterval(2))
        }
        dispatcher.finish()
        threads["dispatcher"]?.join()
        liveness.unregister("dispatcher")
        // Last: maintenance hands back whatever is still in the processing list, and leaves.
        maintenanceStop.stop()
        maintenance.wake()
        threads["maintenance"]?.join()
        liveness.unregister("maintenance")
        http.shutdown()
        logger.info("worker stopped", metadata: ["worker_id": "\(workerID)"])
    }

    private static func generatedID() -> String {
        let host = ProcessInfo.processInfo.hostName.split(separator: ".").first.map(String.init) ?? "worker"
        return "\(host)-\(getpid())-\(RandomToken.make(6))"
    }
}
