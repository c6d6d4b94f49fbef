import Foundation
import Logging
import Metrics
import NIOPosix
import ServiceLifecycle
import WebhookCore
import WebhookRedis

/// Watches Redis for `/healthz` and keeps the queue-depth gauges of `/metrics` current.
///
/// Run it as a `Service`: it pings Redis once a second and reads the depths every few seconds
/// on `NIOThreadPool.singleton` (hiredis blocks), and caches the outcome, so ``isHealthy()``
/// never touches the network and may be called from a request handler.
public final class HealthProbe: Service, @unchecked Sendable {
    // @unchecked: `status` is only touched with `lock` held, `queue` (a RedisQueue, not
    // thread-safe) only with `queueLock` held. Two locks, so that `isHealthy()` never waits for
    // a slow ping.

    /// Seconds between pings.
    public let pingInterval: Double
    /// Seconds between depth readings (when `updatesDepths`).
    public let depthInterval: Double
    /// A success older than this counts as unhealthy: it catches a Redis that hangs a ping.
    public let staleAfter: Double

    private enum Status {
        case unknown
        /// The last ping succeeded, at `since`.
        case healthy(since: ContinuousClock.Instant)
        case failing
    }

    private let lock = NSLock()
    private let queueLock = NSLock()
    private let queue: RedisQueue
    private var status = Status.unknown
    private let leaseMillis: Int
    private let updatesDepths: Bool
    private let logger: Logger
    private let gauges: [Gauge]

    /// - Parameters:
    ///   - redis: the server to watch; the probe opens its own connection (lazily, reconnecting).
    ///   - prefix: `REDIS_KEY_PREFIX`, for the depth readings.
    ///   - leaseSeconds: `WEBHOOK_LEASE`: which workers count as live in the depth reading.
    ///   - updatesDepths: false when something else (the worker's maintenance thread) already
    ///     records the depth gauges.
    public init(
        redis: RedisURL,
        prefix: String,
        leaseSeconds: Double,
        updatesDepths: Bool = true,
        pingInterval: Double = 1,
        depthInterval: Double = 5,
        logger: Logger
    ) {
        self.queue = RedisQueue(url: redis, prefix: prefix, workerID: "health-probe-\(getpid())")
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
    }

    /// True while the last ping succeeded, recently. Never blocks.
    public func isHealthy() -> Bool {
        lock.lock()
        defer { lock.unlock() }
        guard case .healthy(let since) = status else { return false }
        return ContinuousClock.now - since < .seconds(staleAfter)
    }

    /// Probes until the task is cancelled or a graceful shutdown is requested.
    public func run() async throws {
        await cancelWhenGracefulShutdown {
            var nextDepths = ContinuousClock.now
            while !Task.isCancelled {
                let withDepths = self.updatesDepths && ContinuousClock.now >= nextDepths
                if withDepths { nextDepths = ContinuousClock.now + .seconds(self.depthInterval) }
                await self.probe(withDepths: withDepths)
                try? await Task.sleep(for: .seconds(self.pingInterval))
            }
        }
    }

    /// One ping (and optionally one depth reading) on the thread pool; records the outcome.
    private func probe(withDepths: Bool) async {
        let outcome: Result<QueueDepths?, any Error>
        do {
            let depths = try await NIOThreadPool.singleton.runIfActive { () throws -> QueueDepths? in
                try self.pingBlocking(withDepths: withDepths)
            }
            outcome = .success(depths)
        } catch {
            outcome = .failure(error)
        }
        record(outcome)
    }

    private func pingBlocking(withDepths: Bool) throws -> QueueDepths? {
        queueLock.lock()
        defer { queueLock.unlock() }
        try queue.ping()
        guard withDepths else { return nil }
        return try queue.depths(leaseMillis: leaseMillis)
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
