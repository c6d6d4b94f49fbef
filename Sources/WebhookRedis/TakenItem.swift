import WebhookCore

/// One item moved from the queue into this worker's processing list by `RedisQueue.take`.
public struct TakenItem: Sendable {
    /// The exact bytes in the processing list (raw events already tagged): pass them back in
    /// `SettleBatch.acks` to remove the item.
    public let stored: [UInt8]
    /// `stored`, parsed.
    public let item: QueueItem

    public init(stored: [UInt8]) {
        self.stored = stored
        self.item = QueueItem(parsing: stored)
    }
}
