import Foundation
import Logging
import WebhookCore
import WebhookHTTP

/// One worker process's delivery machinery: the taker, HTTP, settler and maintenance threads.
///
/// `start()` launches them; `stop()` stops taking, lets what is in flight finish within
/// `WEBHOOK_SHUTDOWN_GRACE`, hands back the rest, and returns when every thread has ended.
public final class WorkerRuntime: @unchecked Sendable {
    public let workerID: String
    /// What `/livez` watches: `start()` registers the loops in ``loopNames`` with
    /// ``stallBound``; each loop beats its name on every iteration.
    public let liveness = Liveness()
    /// The names the taker, settler and maintenance loops beat under in ``liveness``.
    public static let loopNames = ["taker", "settler", "maintenance"]
    /// Seconds a loop may go without a beat before `/livez` calls it stalled: 60, or
    /// 2 × WEBHOOK_TIMEOUT + 40, or WEBHOOK_LEASE / 3 + 40, whichever is largest. Generous on
    /// purpose: one iteration may sit in a bounded Redis call (10 s read timeout, 5 s connect,
    /// BLMOVE's own timeout + 5 s), wait for HTTP requests to time out, or (maintenance) sleep
    /// until the next heartbeat, and a restart must only ever cure a real stall.
    public let stallBound: Double
    private let configuration: Configuration
    private let logger: Logger
    private let table: InFlightTable
    private let settler: Settler
    private let http: HTTPClient
    private let taker: Taker
    private let maintenance: Maintenance
    private let takerStop = StopSignal()
    private let maintenanceStop = StopSignal()
    private var threads: [String: WorkerThread] = [:]
    private let stopOnce = NSLock()
    private var stopped = false

    /// - Throws: when the configuration has no target or the HTTP client cannot start.
    public init(configuration: Configuration, workerID: String? = nil, logger: Logger) throws {
        let targets = configuration.endpoints.map { Target(kind: .webhook, url: $0) }
            + (configuration.discordURL.map { [Target(kind: .discord, url: $0)] } ?? [])
        guard !targets.isEmpty else {
            throw ConfigurationError(variable: "WEBHOOK_ADDRESS",
                                     message: "no endpoint configured (set WEBHOOK_ADDRESS or DISCORD_WEBHOOK_URL)")
        }
        let id = workerID ?? configuration.workerID ?? Self.generatedID()
        self.workerID = id
        self.configuration = configuration
        self.stallBound = max(60, 2 * configuration.timeout + 40, configuration.lease / 3 + 40)
        self.logger = logger
        let table = InFlightTable(maxEvents: configuration.maxInflightEvents)
        let settler = Settler(configuration: configuration, workerID: id, table: table, logger: logger)
        let http = try HTTPClient(maxConcurrent: configuration.concurrency,
                                  maxPerLane: configuration.endpointConcurrency,
                                  onComplete: { settler.post(responses: $0) })
        self.table = table
        self.settler = settler
        self.http = http
        let maintenance = Maintenance(configuration: configuration, workerID: id, stop: maintenanceStop, logger: logger)
        self.maintenance = maintenance
        self.taker = Taker(configuration: configuration, workerID: id, targets: targets, table: table,
                           http: http, settler: settler, stop: takerStop, registered: maintenance.registered,
                           logger: logger)
        settler.onRetryScheduled = { maintenance.noteRetry(due: $0) }
        settler.inFlightRequests = { http.inFlight }
    }

    public func start() {
        threads = [
            "maintenance": WorkerThread(name: "maintenance", maintenance.run),
            "settler": WorkerThread(name: "settler", settler.run),
            "taker": WorkerThread(name: "taker", taker.run),
        ]
        for name in Self.loopNames { liveness.register(name, bound: stallBound) }
        for name in ["maintenance", "settler", "taker"] { threads[name]?.start() }
        logger.info("worker started", metadata: [
            "worker_id": "\(workerID)", "endpoints": "\(configuration.endpoints.count)",
            "discord": "\(configuration.discordURL != nil)", "compat": "\(configuration.compat.rawValue)",
            "redis": "\(configuration.redis)"])
    }

    /// Stops cleanly; safe to call more than once (later calls return at once).
    public func stop() {
        stopOnce.lock()
        if stopped { stopOnce.unlock(); return }
        stopped = true
        stopOnce.unlock()

        let deadline = Date().addingTimeInterval(configuration.shutdownGrace)
        logger.info("stopping: no new work is taken", metadata: ["in_flight": "\(table.eventCount)"])
        takerStop.stop()
        threads["taker"]?.join()
        liveness.unregister("taker")
        // What has not reached the wire goes back at once; what is on the wire may finish.
        http.cancelWaiting()
        if !table.waitUntilEmpty(deadline: deadline) {
            logger.info("grace period over: handing back what is still in flight", metadata: ["events": "\(table.eventCount)"])
            http.cancelAll()
            _ = table.waitUntilEmpty(deadline: Date().addingTimeInterval(2))
        }
        settler.finish()
        threads["settler"]?.join()
        liveness.unregister("settler")
        maintenanceStop.stop()
        maintenance.wake()
        threads["maintenance"]?.join()
        liveness.unregister("maintenance")
        http.shutdown()
        logger.info("worker stopped", metadata: ["worker_id": "\(workerID)"])
    }

    private static func generatedID() -> String {
        let host = ProcessInfo.processInfo.hostName.split(separator: ".").first.map(String.init) ?? "worker"
        let suffix = String(UInt32.random(in: 0...UInt32.max), radix: 36)
        return "\(host)-\(getpid())-\(suffix)"
    }
}
