import Foundation
import NIOPosix
import WebhookCore
import WebhookRedis

/// Redis connections and threads for the bridge's writes.
///
/// hiredis calls block, so every write runs on this pool's own threads, never on a request task
/// and never on `NIOThreadPool.singleton`, where the health probe runs: writes stuck on a hung
/// Redis must not hold up `/livez` and `/readyz`. A producer is checked out for one write:
/// concurrent POSTs use separate connections instead of queueing on one.
///
/// Every write is idempotent (`EventProducer.ingest`, one id per POST), so a write whose reply
/// was lost is retried with the same id until Redis says how it ended: the POST then gets the
/// answer the bridge can vouch for, and Redis holds one copy of each event.
final class ProducerPool: @unchecked Sendable {
    // @unchecked: `idle` is only touched with `lock` held; a checked-out producer belongs to the
    // one thread-pool job that holds it.
    private let lock = NSLock()
    private var idle: [EventProducer] = []
    private let url: RedisURL
    private let prefix: String
    private let deadMax: Int
    private let maxIdle: Int
    private let timing: Timing
    private let threads: NIOThreadPool

    /// How long the pool waits for Redis.
    struct Timing: Sendable {
        /// Seconds one write's reply may take before it is in doubt (5).
        var readTimeout: Double = 5
        /// Seconds a write in doubt is retried (with its id) before the POST is answered 503
        /// saying so (30). Marzban waits for its answer without a timeout.
        var doubtWindow: Double = 30
        /// Seconds the `<prefix>:ingest:<id>` marker lives (600): far longer than any retry.
        var markerLifetime: Double = 600
    }

    /// Why a write failed.
    enum WriteError: Error {
        /// Nothing was written: Redis refused the write or could not be reached.
        case failed(RedisError)
        /// Redis may have taken the write but did not confirm it within the doubt window.
        case inDoubt(RedisError)
    }

    /// - Parameters:
    ///   - deadMax: `WEBHOOK_DEAD_MAX`, the dead list's cap.
    ///   - threads: writes in progress at once; more wait for a thread.
    ///   - maxIdle: connections kept open between requests; a burst beyond it opens extra
    ///     connections that are closed afterwards.
    init(url: RedisURL, prefix: String, deadMax: Int, threads: Int = 8, maxIdle: Int = 4, timing: Timing = Timing()) {
        self.url = url
        self.prefix = prefix
        self.deadMax = deadMax
        self.maxIdle = maxIdle
        self.timing = timing
        self.threads = NIOThreadPool(numberOfThreads: threads)
        self.threads.start()
    }

    /// Stops the threads once the writes in progress are done.
    func shutdown() async {
        try? await threads.shutdownGracefully()
    }

    /// Writes one POST, off the request task.
    func write(_ write: IngestWrite) async throws(WriteError) -> IngestOutcome {
        let result: Result<IngestOutcome, WriteError>
        do {
            result = try await threads.runIfActive { self.writeBlocking(write) }
        } catch {
            // The pool is shutting down: nothing was sent.
            throw .failed(RedisError(call: "ingest", message: "bridge stopping", isConnectionError: true))
        }
        return try result.get()
    }

    private func writeBlocking(_ write: IngestWrite) -> Result<IngestOutcome, WriteError> {
        let start = ContinuousClock.now
        var inDoubt = false
        var pause = 0.05
        while true {
            let error: RedisError
            do {
                let producer = try checkOut()
                defer { checkIn(producer) }
                return .success(try producer.ingest(write, markerMillis: Int(timing.markerLifetime * 1000), deadMax: deadMax))
            } catch let failure {
                error = failure
            }
            // An error reply: the script did not run, or failed before its first write.
            guard error.isConnectionError else { return .failure(.failed(error)) }
            if error.mayHaveRun { inDoubt = true }
            // Nothing this POST sent can have run: say so at once.
            guard inDoubt else { return .failure(.failed(error)) }
            // Nothing listens any more: the server that may have run it is gone, and only one
            // restarted from persistence would have it (with its marker).
            if error.isConnectionRefused { return .failure(.failed(error)) }
            guard ContinuousClock.now - start < .seconds(timing.doubtWindow) else { return .failure(.inDoubt(error)) }
            Thread.sleep(forTimeInterval: pause)
            pause = min(pause * 2, 1)
        }
    }

    /// An idle producer, else a new connection.
    private func checkOut() throws(RedisError) -> EventProducer {
        lock.lock()
        let idleProducer = idle.popLast()
        lock.unlock()
        if let idleProducer { return idleProducer }
        return try EventProducer(url: url, prefix: prefix, readTimeout: timing.readTimeout)
    }

    /// A producer reopens its connection on the call after a connection error: keep it.
    private func checkIn(_ producer: EventProducer) {
        lock.lock()
        defer { lock.unlock() }
        if idle.count < maxIdle { idle.append(producer) }
    }
}
