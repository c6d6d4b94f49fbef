import Foundation
import NIOPosix
import WebhookCore
import WebhookRedis

/// A few reusable Redis connections for the ingest bridge's LPUSHes.
///
/// hiredis calls block, so every enqueue runs on `NIOThreadPool.singleton`, never on a request
/// task. A producer is checked out for one call: concurrent POSTs use separate connections
/// instead of queueing on one.
final class ProducerPool: @unchecked Sendable {
    // @unchecked: `idle` is only touched with `lock` held; a checked-out producer belongs to the
    // one thread-pool job that holds it.
    private let lock = NSLock()
    private var idle: [EventProducer] = []
    private let url: RedisURL
    private let prefix: String
    private let maxIdle: Int

    /// - Parameter maxIdle: connections kept open between requests; a burst beyond it opens
    ///   extra connections that are closed afterwards.
    init(url: RedisURL, prefix: String, maxIdle: Int = 4) {
        self.url = url
        self.prefix = prefix
        self.maxIdle = maxIdle
    }

    /// LPUSHes all `events` in one command (all or none), off the request task.
    /// - Throws: `RedisError` when Redis cannot be reached or refuses the command.
    func enqueue(_ events: [[UInt8]]) async throws {
        try await NIOThreadPool.singleton.runIfActive {
            try self.enqueueBlocking(events)
        }
    }

    private func enqueueBlocking(_ events: [[UInt8]]) throws(RedisError) {
        let (producer, reused) = try checkOut()
        // A producer reopens its connection on the call after a connection error: keep it.
        defer { checkIn(producer) }
        do {
            try producer.enqueue(events)
        } catch where error.isConnectionError && reused {
            // An idle connection may have died with a Redis restart since its last use: retry
            // once (reconnecting), so the first POST after a restart does not fail. At worst a
            // lost reply hid a successful LPUSH: a duplicate, as with any retried POST.
            try producer.enqueue(events)
        }
    }

    /// An idle producer (`reused`), else a new connection.
    private func checkOut() throws(RedisError) -> (producer: EventProducer, reused: Bool) {
        lock.lock()
        let idleProducer = idle.popLast()
        lock.unlock()
        if let idleProducer { return (idleProducer, true) }
        return (try EventProducer(url: url, prefix: prefix), false)
    }

    private func checkIn(_ producer: EventProducer) {
        lock.lock()
        defer { lock.unlock() }
        if idle.count < maxIdle { idle.append(producer) }
    }
}
