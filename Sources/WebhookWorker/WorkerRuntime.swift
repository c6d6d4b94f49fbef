import Crypto
import Foundation
import Logging
import WebhookCore
import WebhookHTTP
import WebhookQueue
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
///
/// Unchecked Sendable: its mutable state (`threads`, `stopped`) is guarded by `lifecycle`; the
/// rest is immutable or Sendable. `WorkerService.run()` owns the lifetime: it calls `start()`,
/// then `stop()` once `start()` has returned (a stop request during the start only aborts the
/// start, through `abortStart()`). The lock keeps any other caller safe too.
public final class WorkerRuntime: @unchecked Sendable {
    public let workerID: String
    /// What `/livez` watches: `start()` registers the loops in ``loopNames`` with
    /// ``stallBound``; each loop beats its name on every iteration.
    public let liveness = Liveness()
    /// The names the taker, dispatcher and maintenance loops beat under in ``liveness``.
    public static let loopNames = ["taker", "dispatcher", "maintenance"]
    /// Seconds a loop may go without a beat before `/livez` calls it stalled:
    /// WEBHOOK_LIVENESS_BOUND (by default 60, or 2 × WEBHOOK_TIMEOUT + 40, or
    /// WEBHOOK_LEASE / 3 + 40, whichever is largest). Generous on purpose: one iteration may sit
    /// in a bounded Redis call (10 s read timeout, 5 s connect, BLMOVE's own timeout + 5 s), and
    /// a restart must only ever cure a real stall. Waiting on purpose beats: the taker at a
    /// closed gate (Redis out of memory or read-only) or for room, any loop in its backoff.
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
    /// Guards `threads` and `stopped`: a start that finishes after a stop began starts nothing.
    private let lifecycle = NSLock()
    private var threads: [String: WorkerThread] = [:]   // guarded by `lifecycle`
    private var stopped = false                          // guarded by `lifecycle`
    /// Signalled when the first `stop()` has finished, so a second caller returns only then.
    private let stopDone = DispatchSemaphore(value: 0)
    /// Why the worker must stop with an error, once (see `WorkerService`).
    public let fatalErrors: AsyncStream<String>
    private let fatalContinuation: AsyncStream<String>.Continuation

    /// Opens one queue connection per thread.
    private let makeQueue: @Sendable () -> any DeliveryQueue

    /// - Parameters:
    ///   - queues: opens a queue driver for a worker ID, once per thread; Redis
    ///     (`RedisDeliveryQueue`) by default, `MemoryDeliveryQueue` for a runtime without Redis.
    ///   - limits: the endpoint limits' driver (breakers and rate limits), opened once for the
    ///     dispatcher; Redis (`EndpointState`) by default, and with `queues` given, a
    ///     `MemoryEndpointLimits` of this runtime's own unless one is passed: the limits are never
    ///     off.
    /// - Throws: when the HTTP client cannot start.
    public init(configuration: Configuration, workerID: String? = nil, logger: Logger,
                queues: (@Sendable (String) -> any DeliveryQueue)? = nil,
                limits: (@Sendable () -> any EndpointLimits)? = nil) throws {
        let targets = configuration.targets
        let id = workerID ?? configuration.worker.id ?? Self.generatedID()
        self.workerID = id
        let routes = OrderedRoute.routes(targets)
        let open = queues ?? { id in
            RedisDeliveryQueue(url: configuration.redis.url, prefix: configuration.redis.keyPrefix, workerID: id,
                               orderedRoutes: routes)
        }
        let makeQueue: @Sendable () -> any DeliveryQueue = { open(id) }
        self.makeQueue = makeQueue
        self.configuration = configuration
        self.stallBound = configuration.worker.livenessBound
        self.logger = logger
        let room = Room(maxEvents: configuration.worker.maxInflightEvents, maxBytes: configuration.worker.maxInflightBytes,
                        targets: targets.count)
        let gate = TakeGate(logger: logger)
        // The mailbox first: the HTTP client posts into it, and the dispatcher gets both whole.
        let mailbox = DispatcherMailbox()
        let http = try HTTPClient(maxConcurrent: configuration.http.concurrency,
                                  maxPerLane: configuration.http.endpointConcurrency,
                                  caFile: configuration.http.caFile, logger: logger,
                                  onComplete: { mailbox.post(responses: $0) })
        // Fleet-wide rate limits and breakers: in Redis with the Redis queue, in this process's
        // memory with the memory queue (unless the caller shares a store between runtimes).
        let endpointLimits: any EndpointLimits
        if let limits {
            endpointLimits = limits()
        } else if queues == nil {
            endpointLimits = EndpointState(url: configuration.redis.url, prefix: configuration.redis.keyPrefix)
        } else {
            endpointLimits = MemoryEndpointLimits(store: MemoryEndpointLimits.Store())
        }
        let endpointGuard = EndpointGuard(state: endpointLimits, configuration: configuration, workerID: id, logger: logger)
        let dispatcher = Dispatcher(configuration: configuration, workerID: id, targets: targets,
                                    authenticator: ItemAuthenticator(keyMaterial: configuration.worker.itemKeyMaterial),
                                    room: room, gate: gate, liveness: liveness, logger: logger, mailbox: mailbox, http: http,
                                    endpointGuard: endpointGuard, makeQueue: makeQueue)
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
        let taker = self.taker
        dispatcher.onServerChanged = { taker.requestReconcile() }
        (fatalErrors, fatalContinuation) = AsyncStream.makeStream(of: String.self)
        let fatal = fatalContinuation, takerStop = self.takerStop, logger = self.logger
        dispatcher.onBridgeAnswer = { target in
            // Delivering to an ingest bridge re-enqueues every event it is sent, and the copies
            // come back here: stop sending at once (what is in flight is cancelled and handed
            // back, not counted), then stop with an error. The copies already enqueued stay
            // queued for a worker configured right.
            let reason = "endpoint '\(target.name)' (\(target.redactedURL)) answered as this product's ingest bridge "
                + "(202 {\"enqueued\":N}): this worker is delivering events back into a queue, a loop; "
                + "point WEBHOOK_ADDRESS (or the endpoints file) at the real receivers, not at the bridge"
            logger.error("\(reason)")
            takerStop.stop()
            http.shutdown()
            fatal.yield(reason)
            fatal.finish()
        }
    }

    /// Joins the workers set (waiting while Redis is unreachable), then starts the threads.
    /// Blocks: call it off the cooperative pool.
    /// - Throws: when another live worker already uses this worker's ID.
    public func start() throws {
        let joinQueue = makeQueue()
        guard maintenance.join(joinQueue, abort: startAbort) else {
            if maintenance.idTaken {
                throw WorkerStartError(description: "another live worker uses WEBHOOK_WORKER_ID '\(workerID)'; "
                    + "give each worker its own ID (or leave it unset), or wait WEBHOOK_LEASE seconds after the other one stopped")
            }
            return
        }
        dispatcher.joinedServer = joinQueue.serverID
        lifecycle.lock()
        guard !stopped else {
            lifecycle.unlock()
            // Stopped while joining: leave the workers set again, nothing was taken.
            _ = try? joinQueue.deregister()
            return
        }
        threads = [
            "maintenance": WorkerThread(name: "maintenance", maintenance.run),
            "dispatcher": WorkerThread(name: "dispatcher", dispatcher.run),
            "taker": WorkerThread(name: "taker", taker.run),
        ]
        for name in Self.loopNames { liveness.register(name, bound: stallBound) }
        for name in ["maintenance", "dispatcher", "taker"] { threads[name]?.start() }
        lifecycle.unlock()
        // Every endpoint the worker delivers to, wherever it was configured (WEBHOOK_ADDRESS,
        // DISCORD_WEBHOOK_URL or the endpoints file), by name: names never carry secrets.
        let targets = configuration.targets
        logger.info("worker started", metadata: [
            "worker_id": "\(workerID)", "endpoints": "\(targets.count)",
            "endpoint_names": "\(targets.map(\.name).joined(separator: ","))",
            "discord": "\(targets.contains { $0.kind == .discord })", "compat": "\(configuration.endpoints.compat.rawValue)",
            "redis": "\(configuration.redis.url)"])
    }

    /// Stops cleanly within WEBHOOK_SHUTDOWN_GRACE + `WorkerConfiguration.handBackBound`,
    /// whatever Redis does; safe to call more than once (later calls wait for the first).
    ///
    /// The taker stops; what has not reached the wire is handed back at once; what is on the wire
    /// may finish until the grace ends, then is cancelled and handed back; maintenance hands back
    /// what the processing list still holds and deregisters. A thread still blocked in a Redis
    /// call when the bound passes is left behind (the process is exiting): what this worker
    /// still holds stays in its processing list, and another worker returns it to the queue
    /// once this one's lease expires. At-least-once holds either way; the stop never overruns
    /// the orchestrator's grace because Redis hangs.
    public func stop() {
        lifecycle.lock()
        if stopped {
            lifecycle.unlock()
            stopDone.wait()
            stopDone.signal()
            return
        }
        stopped = true
        // From here on `start()` starts no thread: this snapshot is all there will be.
        let threads = self.threads
        lifecycle.unlock()
        defer { stopDone.signal() }

        let deadline = Date().addingTimeInterval(configuration.worker.shutdownGrace)
        let last = deadline.addingTimeInterval(WorkerConfiguration.handBackBound)
        logger.info("stopping: no new work is taken", metadata: ["in_flight": "\(room.heldEvents)"])
        startAbort.stop()
        takerStop.stop()
        // A taker blocked in a Redis call is not waited for past the grace: a take that lands
        // later is refused (this worker has deregistered) or stays in the processing list for
        // the hand-back or the lease, never in memory.
        _ = threads["taker"]?.join(until: deadline)
        liveness.unregister("taker")
        // What has not reached the wire goes back at once; what is on the wire may finish.
        http.cancelWaiting()
        if !room.waitUntilEmpty(deadline: deadline) {
            logger.info("grace period over: handing back what is still in flight", metadata: ["events": "\(room.heldEvents)"])
            http.cancelAll()
            _ = room.waitUntilEmpty(deadline: min(last, Date().addingTimeInterval(2)))
        }
        dispatcher.finish()
        var left: [String] = []
        if threads["dispatcher"]?.join(until: last) == false { left.append("dispatcher") }
        liveness.unregister("dispatcher")
        // Last: maintenance hands back whatever is still in the processing list, and leaves.
        maintenanceStop.stop()
        maintenance.wake()
        if threads["maintenance"]?.join(until: last) == false { left.append("maintenance") }
        liveness.unregister("maintenance")
        guard left.isEmpty else {
            let message = "stopped without finishing the hand-back: Redis did not answer in time; what this worker still "
                + "holds stays in its processing list until another worker takes it back after WEBHOOK_LEASE"
            logger.error("\(message)",
                         metadata: ["worker_id": "\(workerID)", "events": "\(room.heldEvents)",
                                    "waiting_on_redis": "\(left.joined(separator: ","))"])
            return
        }
        http.shutdown()
        logger.info("worker stopped", metadata: ["worker_id": "\(workerID)"])
    }

    /// Ends a `start()` still waiting for Redis (a stop request during the start); returns at
    /// once. The owner calls `stop()` after `start()` has returned.
    public func abortStart() {
        startAbort.stop()
    }

    private static func generatedID() -> String {
        let host = ProcessInfo.processInfo.hostName.split(separator: ".").first.map(String.init) ?? "worker"
        return "\(host)-\(getpid())-\(RandomToken.make(6))"
    }
}
