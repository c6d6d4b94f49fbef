import WebhookCore

/// What a worker's threads need from the queue: the driver protocol, as swift-jobs'
/// `JobQueueDriver` is for its drivers. `RedisDeliveryQueue` (WebhookRedis) is the real one;
/// `MemoryDeliveryQueue` keeps the same rules in process memory, for the runtime without Redis.
/// One instance per thread (neither is shared across threads). `DeliveryQueueContractTests`
/// runs both through the same cases.
///
/// Only what the worker's loops call is here. Reading and administering the queue (the CLI's
/// `status` and `dead`, the dashboard, the health probe) is the Redis module's own business
/// (`RedisQueue`'s extensions): a driver does not have to offer it.
///
/// Errors are `QueueError`s with a stored `code` the loops match on (`.unregistered`,
/// `.connection`, `.outOfMemory`, ...), whichever driver raised them.
public protocol DeliveryQueue: AnyObject {
    var workerID: String { get }
    /// Moves up to `max` items (about `maxBytes`, at least one) into this worker's processing
    /// list, tagging raw events; `.unregistered` when the worker has not joined.
    func take(max: Int, maxBytes: Int) throws(QueueError) -> [[UInt8]]
    /// Blocks until the queue has items or `timeout` passes, taking nothing.
    func waitForWork(timeout: Double) throws(QueueError) -> Bool
    /// Writes each settlement's outcomes only while its item is still held (fenced), atomically,
    /// with its attempt-log records when `attemptLog` is on (best-effort: a failed log write is
    /// `SettleResult.logFailed`, never a failed settle).
    func settle(_ settlements: ArraySlice<Settlement>, deadMax: Int) throws(QueueError) -> SettleResult
    /// Claims up to `max` ready keys of one ordered endpoint, each under a lease of
    /// `leaseMillis`; also returns the seconds until the next key is due (nil: none waits).
    func claimOrdered(_ route: OrderedRoute, max: Int, leaseMillis: Int) throws(QueueError) -> (claims: [OrderedClaim], nextDueIn: Double?)
    /// Writes claims' outcomes, each fenced by its lease token.
    func settleOrdered(_ settlements: [OrderedSettlement], deadMax: Int) throws(QueueError) -> SettleResult
    /// Replicas connected to the server (0 without replication).
    func connectedReplicas() throws(QueueError) -> Int
    /// WAIT: until `count` replicas have every write of this connection, or the timeout.
    func waitForReplicas(_ count: Int, timeoutMillis: Int) throws(QueueError) -> Int
    /// Moves due retries to the queue; returns how many and the wait until the next.
    func promoteDue(limit: Int) throws(QueueError) -> (moved: Int, nextDueIn: Double?)
    /// Joins the workers set (`join`, refused while another live worker has the ID) or refreshes
    /// the heartbeat (never re-registers a reaped worker).
    func heartbeat(join: Bool, leaseMillis: Int) throws(QueueError) -> Heartbeat
    /// Workers whose heartbeat is older than the lease, and holders that are not registered (the
    /// sweep).
    func reapCandidates(leaseMillis: Int) throws(QueueError) -> [String]
    /// Returns a dead worker's processing list to the taking end with a crash mark on each item
    /// (only the one named by `markAdmitting` when it named one); nil when the worker is alive.
    func reap(worker: String, leaseMillis: Int) throws(QueueError) -> Int?
    /// Names the suspect item (SHA-1, hex) this worker is admitting, or clears it (nil).
    func markAdmitting(sha1: String?) throws(QueueError)
    /// The server the connection reached (Redis: its `run_id`); when `pinnedServerID` is set,
    /// settles made on another server throw `.serverChanged` instead of landing there.
    var serverID: String? { get }
    var pinnedServerID: String? { get set }
    /// The attempt log's caps, used by every settle; off (`maxRecords` 0) by default.
    var attemptLog: AttemptLogConfiguration { get set }
    /// Puts held items missing from the processing list back into it (not pinned: what a worker
    /// does first on a new server); returns how many went back.
    func restore(_ items: [[UInt8]]) throws(QueueError) -> Int
    /// Everything in this worker's processing list (reconciling after a lost take reply).
    func processingItems() throws(QueueError) -> [[UInt8]]
    /// Moves these items from the processing list back to the taking end, each only if it is
    /// still there; returns how many moved.
    func release(_ items: [[UInt8]]) throws(QueueError) -> Int
    /// Moves everything this worker holds back to the taking end (at shutdown).
    func handBack() throws(QueueError) -> Int
    /// Leaves the workers set, only when the processing list is empty (else the lease recovers
    /// it); returns whether it left.
    func deregister() throws(QueueError) -> Bool
    /// `LPUSH`es items onto the queue (the worker's own announcements).
    func push(_ items: [[UInt8]]) throws(QueueError)
    /// The server's eviction policy when it can tell (a warning at start-up), else nil.
    func maxmemoryPolicy() throws(QueueError) -> String?
}
