/// What one settle call did (`DeliveryQueue.settle`, `settleOrdered`).
public struct SettleResult: Sendable, Equatable {
    /// Events removed from the processing list with their outcomes written.
    public var written: Int
    /// Events no longer in this worker's processing list (reaped, or settled by a call
    /// whose reply was lost): nothing was written for them.
    public var fenced: Int
    /// Oldest dead letters dropped to keep the dead list within its cap.
    public var trimmed: Int
    /// The attempt log's write failed (the settle itself did not): its records are lost.
    public var logFailed: Bool

    public init(written: Int, fenced: Int, trimmed: Int, logFailed: Bool = false) {
        self.written = written
        self.fenced = fenced
        self.trimmed = trimmed
        self.logFailed = logFailed
    }
}
