import WebhookCore

/// What a worker's threads need from the queue: the driver protocol. `RedisQueue` is the real
/// one; `MemoryDeliveryQueue` keeps the same rules in process memory, for tests of the runtime
/// without Redis. One instance per thread (neither is shared across threads).
///
/// Errors are `RedisError`s with a `code` the loops match on (`.unregistered`, `.connection`,
/// `.outOfMemory`, ...), whichever driver raised them.
public protocol DeliveryQueue: AnyObject {
    var workerID: String { get }
    /// Moves up to `max` items (about `maxBytes`, at least one) into this worker's processing
    /// list, tagging raw events; `.unregistered` when the worker has not joined.
    func take(max: Int, maxBytes: Int) throws(RedisError) -> [[UInt8]]
    /// Blocks until the queue has items or `timeout` passes, taking nothing.
    func waitForWork(timeout: Double) throws(RedisError) -> Bool
    /// Writes each settlement's outcomes only while its item is still held (fenced), atomically,
    /// with its attempt-log records when `attemptLog` is on (best-effort: see `Scripts.settle`).
    func settle(_ settlements: ArraySlice<Settlement>, deadMax: Int) throws(RedisError) -> RedisQueue.SettleResult
    /// Claims up to `max` ready keys of one ordered endpoint, each under a lease of
    /// `leaseMillis` (see `Scripts.orderedClaim`); also returns the seconds until the next key
    /// is due (nil: none waits).
    func claimOrdered(_ route: OrderedRoute, max: Int, leaseMillis: Int) throws(RedisError) -> (claims: [OrderedClaim], nextDueIn: Double?)
    /// Writes claims' outcomes, each fenced by its lease token (see `Scripts.orderedSettle`).
    func settleOrdered(_ settlements: [OrderedSettlement], deadMax: Int) throws(RedisError) -> RedisQueue.SettleResult
    /// Replicas connected to the server (0 without replication).
    func connectedReplicas() throws(RedisError) -> Int
    /// WAIT: until `count` replicas have every write of this connection, or the timeout.
    func waitForReplicas(_ count: Int, timeoutMillis: Int) throws(RedisError) -> Int
    /// Moves due retries to the queue; returns how many and the wait until the next.
    func promoteDue(limit: Int) throws(RedisError) -> (moved: Int, nextDueIn: Double?)
    func heartbeat(join: Bool, leaseMillis: Int) throws(RedisError) -> RedisQueue.Heartbeat
    func reapCandidates(leaseMillis: Int) throws(RedisError) -> [String]
    func reap(worker: String, leaseMillis: Int) throws(RedisError) -> Int?
    func markAdmitting(sha1: String?) throws(RedisError)
    /// The server the connection reached (`run_id`); `pinnedServerID` confines scripts to one
    /// (see `RedisQueue`).
    var serverID: String? { get }
    var pinnedServerID: String? { get set }
    /// The attempt log's caps, used by every settle; off (`maxRecords` 0) by default.
    var attemptLog: AttemptLogConfiguration { get set }
    /// Puts held items missing from the processing list back into it (see `RedisQueue.restore`).
    func restore(_ items: [[UInt8]]) throws(RedisError) -> Int
    func processingItems() throws(RedisError) -> [[UInt8]]
    func release(_ items: [[UInt8]]) throws(RedisError) -> Int
    func handBack() throws(RedisError) -> Int
    func deregister() throws(RedisError) -> Bool
    /// `LPUSH`es items onto the queue (the worker's own announcements).
    func push(_ items: [[UInt8]]) throws(RedisError)
    /// The server's eviction policy when it can tell (a warning at start-up), else nil.
    func maxmemoryPolicy() throws(RedisError) -> String?
}

extension RedisQueue: DeliveryQueue {}
