import WebhookCore
import WebhookQueue

/// The Redis `DeliveryQueue` driver: the worker's calls on a `RedisQueue`, with each
/// `RedisError` turned into a `QueueError` (`QueueError.init(_:)`, the one mapping) at this
/// boundary. Every rule is in the queue's scripts; this type only forwards and maps, one direct
/// call per operation (per batch, never per delivery).
///
/// Not thread-safe: one per thread, like the `RedisQueue` and connection it owns.
public final class RedisDeliveryQueue: DeliveryQueue {
    /// The Redis queue behind the driver.
    private let queue: RedisQueue

    /// Connects lazily, as `RedisQueue` does.
    /// - Parameter orderedRoutes: the ordered endpoints `take` fans events out into.
    public init(url: RedisURL, prefix: String, workerID: String, orderedRoutes: [OrderedRoute] = [],
                readTimeout: Double = RedisConnection.defaultReadTimeout) {
        queue = RedisQueue(url: url, prefix: prefix, workerID: workerID, readTimeout: readTimeout)
        queue.orderedRoutes = orderedRoutes
    }

    /// Runs one `RedisQueue` call, mapping its error.
    @inline(__always)
    public var workerID: String { queue.workerID }

    public var serverID: String? { queue.serverID }

    public var pinnedServerID: String? {
        get { queue.pinnedServerID }
        set { queue.pinnedServerID = newValue }
    }

    public var attemptLog: AttemptLogConfiguration {
        get { queue.attemptLog }
        set { queue.attemptLog = newValue }
    }

    public func take(max: Int, maxBytes: Int) throws(QueueError) -> [[UInt8]] {
        try mapped { () throws(RedisError) in try queue.take(max: max, maxBytes: maxBytes) }
    }

    public func waitForWork(timeout: Double) throws(QueueError) -> Bool {
        try mapped { () throws(RedisError) in try queue.waitForWork(timeout: timeout) }
    }

    public func settle(_ settlements: ArraySlice<Settlement>, deadMax: Int) throws(QueueError) -> SettleResult {
        try mapped { () throws(RedisError) in try queue.settle(settlements, deadMax: deadMax) }
    }

    public func claimOrdered(_ route: OrderedRoute, max: Int, leaseMillis: Int) throws(QueueError) -> (claims: [OrderedClaim], nextDueIn: Double?) {
        try mapped { () throws(RedisError) in try queue.claimOrdered(route, max: max, leaseMillis: leaseMillis) }
    }

    public func settleOrdered(_ settlements: [OrderedSettlement], deadMax: Int) throws(QueueError) -> SettleResult {
        try mapped { () throws(RedisError) in try queue.settleOrdered(settlements, deadMax: deadMax) }
    }

    public func connectedReplicas() throws(QueueError) -> Int {
        try mapped { () throws(RedisError) in try queue.connectedReplicas() }
    }

    public func waitForReplicas(_ count: Int, timeoutMillis: Int) throws(QueueError) -> Int {
        try mapped { () throws(RedisError) in try queue.waitForReplicas(count, timeoutMillis: timeoutMillis) }
    }

    public func promoteDue(limit: Int) throws(QueueError) -> (moved: Int, nextDueIn: Double?) {
        try mapped { () throws(RedisError) in try queue.promoteDue(limit: limit) }
    }

    public func heartbeat(join: Bool, leaseMillis: Int) throws(QueueError) -> Heartbeat {
        try mapped { () throws(RedisError) in try queue.heartbeat(join: join, leaseMillis: leaseMillis) }
    }

    public func reapCandidates(leaseMillis: Int) throws(QueueError) -> [String] {
        try mapped { () throws(RedisError) in try queue.reapCandidates(leaseMillis: leaseMillis) }
    }

    public func reap(worker: String, leaseMillis: Int) throws(QueueError) -> Int? {
        try mapped { () throws(RedisError) in try queue.reap(worker: worker, leaseMillis: leaseMillis) }
    }

    public func markAdmitting(sha1: String?) throws(QueueError) {
        try mapped { () throws(RedisError) in try queue.markAdmitting(sha1: sha1) }
    }

    public func restore(_ items: [[UInt8]]) throws(QueueError) -> Int {
        try mapped { () throws(RedisError) in try queue.restore(items) }
    }

    public func processingItems() throws(QueueError) -> [[UInt8]] {
        try mapped { () throws(RedisError) in try queue.processingItems() }
    }

    public func release(_ items: [[UInt8]]) throws(QueueError) -> Int {
        try mapped { () throws(RedisError) in try queue.release(items) }
    }

    public func handBack() throws(QueueError) -> Int {
        try mapped { () throws(RedisError) in try queue.handBack() }
    }

    public func deregister() throws(QueueError) -> Bool {
        try mapped { () throws(RedisError) in try queue.deregister() }
    }

    public func push(_ items: [[UInt8]]) throws(QueueError) {
        try mapped { () throws(RedisError) in try queue.push(items) }
    }

    public func maxmemoryPolicy() throws(QueueError) -> String? {
        try mapped { () throws(RedisError) in try queue.maxmemoryPolicy() }
    }
}
