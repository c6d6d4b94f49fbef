/// The outcome of finished work, written by `RedisQueue.settle` in one atomic step.
public struct SettleBatch: Sendable {
    /// Items to remove from the processing list (`TakenItem.stored`, byte for byte).
    public var acks: [[UInt8]]
    /// Deliveries to retry: added to the delayed set, scored by `due` (Unix seconds).
    public var retries: [(due: Double, item: [UInt8])]
    /// Items to put back at the taking end of the queue (taken next).
    public var requeue: [[UInt8]]
    /// Dead letters (`DeadLetter.encoded()`), pushed onto the dead list.
    public var dead: [[UInt8]]

    public init(acks: [[UInt8]] = [], retries: [(due: Double, item: [UInt8])] = [], requeue: [[UInt8]] = [], dead: [[UInt8]] = []) {
        self.acks = acks
        self.retries = retries
        self.requeue = requeue
        self.dead = dead
    }

    /// True when settling would change nothing.
    public var isEmpty: Bool { acks.isEmpty && retries.isEmpty && requeue.isEmpty && dead.isEmpty }
}
