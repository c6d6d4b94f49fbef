/// One event on its way to one target, after at least one failed attempt
/// (`@<webhook-id> <tries> <kind> <url> <raw event>` in Redis).
public struct Delivery: Sendable, Equatable {
    /// The Standard Webhooks `webhook-id`, identical on every attempt.
    public var webhookID: String
    /// Failed attempts so far (the `tries` value of the next body).
    public var tries: Int
    public var target: Target
    /// The event bytes as they were taken from the queue.
    public var raw: [UInt8]

    public init(webhookID: String, tries: Int, target: Target, raw: [UInt8]) {
        self.webhookID = webhookID
        self.tries = tries
        self.target = target
        self.raw = raw
    }
}
