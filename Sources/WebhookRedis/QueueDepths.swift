/// A snapshot of the queue's sizes, for `status` and the depth gauges.
public struct QueueDepths: Sendable, Equatable {
    /// Items waiting in the queue.
    public var queue: Int
    /// Deliveries waiting for a retry.
    public var delayed: Int
    /// Items held by workers (all registered workers, live or not yet reaped).
    public var processing: Int
    /// Dead letters.
    public var dead: Int
    /// IDs of live workers (heartbeat within the lease), sorted.
    public var workers: [String]

    public init(queue: Int, delayed: Int, processing: Int, dead: Int, workers: [String]) {
        self.queue = queue
        self.delayed = delayed
        self.processing = processing
        self.dead = dead
        self.workers = workers
    }
}
