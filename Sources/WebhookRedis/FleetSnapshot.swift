/// What the dashboard's overview shows beyond ``QueueDepths``: every registered worker with the
/// age of its heartbeat, and the Redis server's role and memory. Read in one round trip.
public struct FleetSnapshot: Sendable, Equatable {
    /// One registered worker.
    public struct Worker: Sendable, Equatable {
        public var id: String
        /// Seconds since its last heartbeat, on Redis's clock.
        public var heartbeatAge: Double
        /// Heartbeat within the lease.
        public var isLive: Bool

        public init(id: String, heartbeatAge: Double, isLive: Bool) {
            self.id = id
            self.heartbeatAge = heartbeatAge
            self.isLive = isLive
        }
    }

    /// Registered workers, freshest heartbeat first.
    public var workers: [Worker]
    /// INFO replication's `role` (`master`, `slave`); nil when INFO is refused.
    public var role: String?
    /// INFO memory's `used_memory`; nil when INFO is refused.
    public var usedMemory: Int?
    /// INFO memory's `maxmemory` (0: no limit); nil when INFO is refused.
    public var maxMemory: Int?
    /// Redis's clock when read, Unix seconds.
    public var now: Double

    public init(workers: [Worker], role: String?, usedMemory: Int?, maxMemory: Int?, now: Double) {
        self.workers = workers
        self.role = role
        self.usedMemory = usedMemory
        self.maxMemory = maxMemory
        self.now = now
    }
}
