import Foundation
import Logging
import Metrics
import NIOPosix
import ServiceLifecycle
import WebhookCore
import WebhookRedis

/// Watches Redis for `/healthz` and `/readyz` and keeps the queue-depth gauges of `/metrics`
/// current. The bridge and a worker's metrics server both run one.
///
/// Run it as a `Service`: it pings Redis once a second, checks that Redis takes writes, reads
/// the depths every few seconds and `maxmemory-policy` at start and every `policyInterval`, on
/// `NIOThreadPool.singleton` (hiredis blocks; the bridge's writes have threads of their own, so
/// a hung Redis never queues the probe behind them), and caches the outcome, so ``isHealthy()``
/// and ``readinessProblem()`` never touch the network and may be called from a request handler.
/// Each round beats ``liveness`` under ``livenessName``: on the bridge this loop is what
/// `/livez` watches.
public final class HealthProbe: Service, @unchecked Sendable {
    // @unchecked: `status` and `readiness` are only touched with `lock` held, `queue` (a
    // RedisQueue, not thread-safe) only with `queueLock` held. Two locks, so that `isHealthy()`
    // never waits for a slow ping.

    /// Seconds between pings.
    public let pingInterval: Double
    /// Seconds between depth readings (when `updatesDepths`).
    public let depthInterval: Double
    /// A success older than this counts as unhealthy: it catches a Redis that hangs a ping.
    public let staleAfter: Double
    /// The loops `/livez` watches; this probe's own loop registers as ``livenessName``.
    public let liveness: Liveness
    /// The probe loop's name in ``liveness``.
    public static let livenessName = "health-probe"
    /// Seconds the probe loop may go without a round before `/livez` calls it stalled (60). One
    /// round is a few Redis calls, each bounded by the connection's timeouts (5 s connect,
    /// `readTimeout`), and a failed call ends the round: a dead or hung Redis never stalls the
    /// loop this long.
    public let livenessBound: Double
    /// Seconds between readings of `maxmemory-policy`.
    public let policyInterval: Double

    private enum Status {
        case unknown
        /// The last ping succeeded, at `since`.
        case healthy(since: ContinuousClock.Instant)
        case failing
    }

    /// What the last reading of `maxmemory-policy` found.
    private enum Policy: Equatable {
        case unknown
        case read(String)
        /// CONFIG GET refused: said once, then the probe carries on without it.
        case unreadable
    }

    private enum Readiness {
        case unknown
        /// The last check found a writable master, at `since`.
        case ready(since: ContinuousClock.Instant)
        case notReady(reason: String)
    }

    private let lock = NSLock()
    private let queueLock = NSLock()
    private let queue: RedisQueue
    private var status = Status.unknown
    private var readiness = Readiness.unknown
    private var policy = Policy.unknown
    /// True while Redis answers pings but refuses the probe's write (for logging transitions).
    private var refusingWrites = false
    /// Names this process's probe key (`<prefix>:probe:<probeID>`).
    private let probeID: String
    private let leaseMillis: Int
    private let updatesDepths: Bool
    private let logger: Logger
    private let gauges: [Gauge]
    /// Workers alive, oldest item's age, Redis memory, readiness, breakers (see FleetGauges).
    private let fleet: FleetGauges

    /// - Parameters:
    ///   - redis: the server to watch; the probe opens its own connection (lazily, reconnecting).
    ///   - prefix: `REDIS_KEY_PREFIX`, for the depth readings.
    ///   - leaseSeconds: `WEBHOOK_LEASE`: which workers count as live in the depth reading.
    ///   - updatesDepths: false when something else (the worker's maintenance thread) already
    ///     records the depth gauges.
    ///   - liveness: where the probe loop beats (a worker passes its runtime's, so `/livez`
    ///     covers its threads too).
    ///   - endpoints: endpoint names whose breaker state `webhook_breaker_state` reports.
    public init(
        redis: RedisURL,
        prefix: String,
        leaseSeconds: Double,
        updatesDepths: Bool = true,
        pingInterval: Double = 1,
        depthInterval: Double = 5,
        policyInterval: Double = 30,
        readTimeout: Double = 5,
        livenessBound: Double = 60,
        liveness: Liveness = Liveness(),
        endpoints: [String] = [],
        orderedEndpoints: [(name: String, targetID: String)] = [],
        logger: Logger
    ) {
        self.queue = RedisQueue(url: redis, prefix: prefix, workerID: "health-probe-\(getpid())", readTimeout: readTimeout)
        self.policyInterval = policyInterval
        self.livenessBound = livenessBound
        self.probeID = "\(getpid())-\(String(UInt64.random(in: 0...UInt64.max), radix: 36))"
        self.liveness = liveness
        self.leaseMillis = Int(leaseSeconds * 1000)
        self.updatesDepths = updatesDepths
        self.pingInterval = pingInterval
        self.depthInterval = depthInterval
        self.staleAfter = max(5, pingInterval * 5)
        self.logger = logger
        self.gauges = [
            MetricNames.queueDepth, MetricNames.delayedDepth,
            MetricNames.processingDepth, MetricNames.deadDepth,
        ].map { Gauge(label: $0) }
        self.fleet = FleetGauges(redis: redis, prefix: prefix, endpoints: endpoints, ordered: orderedEndpoints)
    }

    /// True while the last ping succeeded, recently. Never blocks.
    public func isHealthy() -> Bool {
        lock.lock()
        defer { lock.unlock() }
        guard case .healthy(let since) = status else { return false }
        return ContinuousClock.now - since < .seconds(staleAfter)
    }

    /// Nil while the last readiness check found a master that took a write, recently, and whose
    /// `maxmemory-policy` cannot evict the queue; otherwise why Redis is not fit for this
    /// process's writes. Never blocks.
    public func readinessProblem() -> String? {
        lock.lock()
        defer { lock.unlock() }
        if case .read(let name) = policy, let problem = EvictionPolicy.readinessProblem(name) { return problem }
        switch readiness {
        case .unknown: return "redis not checked yet"
        case .notReady(let reason): return reason
        case .ready(let since):
            return ContinuousClock.now - since < .seconds(staleAfter) ? nil : "redis has not answered for \(Int(staleAfter)) s"
        }
    }

    /// Probes until the task is cancelled or a graceful shutdown is requested.
    public func run() async throws {
        liveness.register(Self.livenessName, bound: livenessBound)
        defer { liveness.unregister(Self.livenessName) }
        await cancelWhenGracefulShutdown {
            var nextDepths = ContinuousClock.now
            var nextPolicy = ContinuousClock.now
            while !Task.isCancelled {
                self.liveness.beat(Self.livenessName)
                let withDepths = self.updatesDepths && ContinuousClock.now >= nextDepths
                if withDepths { nextDepths = ContinuousClock.now + .seconds(self.depthInterval) }
                let withPolicy = ContinuousClock.now >= nextPolicy
                if withPolicy, await self.checkPolicy() { nextPolicy = ContinuousClock.now + .seconds(self.policyInterval) }
                await self.probe(withDepths: withDepths)
                try? await Task.sleep(for: .seconds(self.pingInterval))
            }
        }
    }

    /// One ping, one writability check (and optionally one depth reading) on the thread pool;
    /// records the outcomes.
    private func probe(withDepths: Bool) async {
        do {
            let (depths, writable) = try await NIOThreadPool.singleton.runIfActive {
                () throws -> ((QueueDepths, FleetGauges.Reading?)?, Result<Void, any Error>) in
                try self.pingBlocking(withDepths: withDepths)
            }
            recordReadiness(writable, reachable: true)
            record(.success(depths?.0))
            if let (depths, reading) = depths { fleet.record(reading, depths: depths) }
        } catch {
            // Stopping (e.g. the server could not bind its port) is not a Redis outage: logging
            // one here would hide the real cause behind "redis unavailable".
            if Task.isCancelled || error is CancellationError { return }
            recordReadiness(.failure(error), reachable: false)
            record(.failure(error))
        }
    }

    /// Pings (a failure throws: unhealthy, not ready), then checks writability (its failure is
    /// returned: healthy but not ready), then reads the depths.
    private func pingBlocking(withDepths: Bool) throws -> ((QueueDepths, FleetGauges.Reading?)?, Result<Void, any Error>) {
        queueLock.lock()
        defer { queueLock.unlock() }
        try queue.ping()
        let writable: Result<Void, any Error>
        do {
            try queue.checkWritable(probeID: probeID)
            writable = .success(())
        } catch {
            writable = .failure(error)
        }
        guard withDepths else { return (nil, writable) }
        // The extra gauges are best effort: their failure must not make Redis look unhealthy.
        return ((try queue.depths(leaseMillis: leaseMillis), try? fleet.read(queue)), writable)
    }

    /// Reads `maxmemory-policy` and records it; logs an evicting policy at `error` (a
    /// `volatile-*` one at `warning`) when it changes, and a refused CONFIG once. Returns false
    /// when Redis did not answer (try again next round).
    private func checkPolicy() async -> Bool {
        let reading: MaxmemoryPolicyReading
        do {
            reading = try await NIOThreadPool.singleton.runIfActive { () throws -> MaxmemoryPolicyReading in
                self.queueLock.lock()
                defer { self.queueLock.unlock() }
                return try self.queue.readMaxmemoryPolicy()
            }
        } catch {
            return false
        }
        let next: Policy = switch reading {
        case .policy(let name): .read(name)
        case .unreadable: .unreadable
        }
        let before = lock.withLock {
            let before = policy
            policy = next
            return before
        }
        guard next != before else { return true }
        switch reading {
        case .policy(let name):
            switch EvictionPolicy(policy: name) {
            case .evictsQueue:
                logger.error("redis maxmemory-policy can evict queued events: not ready until it is noeviction",
                             metadata: ["maxmemory-policy": "\(name)", "set": "maxmemory-policy noeviction"])
            case .evictsExpiringKeys:
                logger.warning("""
                    redis maxmemory-policy evicts keys with an expiry: no queued event can be lost, but \
                    rate-limit state and the bridge's duplicate guards can; noeviction is recommended
                    """, metadata: ["maxmemory-policy": "\(name)"])
            case .safe:
                if case .read(let old) = before, EvictionPolicy(policy: old) != .safe {
                    logger.info("redis maxmemory-policy is noeviction now", metadata: ["maxmemory-policy": "\(name)"])
                }
            }
        case .unreadable(let message):
            logger.warning("""
                cannot read redis maxmemory-policy (CONFIG GET refused); carrying on without the check: \
                make sure it is noeviction
                """, metadata: ["error": "\(message)"])
        }
        return true
    }

    /// Records the readiness outcome. `reachable` is false when the ping itself failed: that
    /// is logged as "redis unavailable" already, so only a refused write is logged here.
    private func recordReadiness(_ outcome: Result<Void, any Error>, reachable: Bool) {
        var writable = false
        if case .success = outcome { writable = true }
        lock.lock()
        readiness = switch outcome {
        case .success: .ready(since: .now)
        case .failure(let error): .notReady(reason: "\(error)")
        }
        let wasRefusing = refusingWrites
        let nowRefusing = reachable && !writable
        refusingWrites = nowRefusing
        lock.unlock()
        fleet.record(ready: writable)

        // Transitions only: a read-only Redis must not print a line per second.
        if nowRefusing && !wasRefusing, case .failure(let error) = outcome {
            logger.warning("redis answers but refuses writes: not ready", metadata: ["error": "\(error)"])
        } else if wasRefusing && writable {
            logger.info("redis accepts writes again")
        }
    }

    private func record(_ outcome: Result<QueueDepths?, any Error>) {
        lock.lock()
        let before = status
        switch outcome {
        case .success: status = .healthy(since: .now)
        case .failure: status = .failing
        }
        lock.unlock()

        // Log transitions only: a Redis outage must not print a line per second.
        switch outcome {
        case .success(let depths):
            if case .failing = before { logger.info("redis reachable again") }
            if let depths {
                let values = [depths.queue, depths.delayed, depths.processing, depths.dead]
                for (gauge, value) in zip(gauges, values) { gauge.record(value) }
            }
        case .failure(let error):
            if case .failing = before { break }
            logger.warning("redis unavailable", metadata: ["error": "\(error)"])
        }
    }
}
