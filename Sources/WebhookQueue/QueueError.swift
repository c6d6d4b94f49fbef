/// A failed queue-driver call, with a stored `code` to match on and a message for people.
///
/// Every driver throws this at the boundary (`DeliveryQueue`, `EndpointLimits`): the Redis driver
/// maps its `RedisError` to it in one function, the memory driver makes it directly. The worker's
/// loops match on `code` only; `message` is for logs and never holds a credential.
public struct QueueError: Error, CustomStringConvertible, Sendable {
    public let code: QueueErrorCode
    /// What failed, e.g. `EVALSHA(take)` or `take`, so a log line points at the operation.
    public let operation: String
    /// The driver's description of the failure (for Redis, hiredis' error text or the reply).
    public let message: String

    public init(_ code: QueueErrorCode, operation: String, message: String) {
        self.code = code
        self.operation = operation
        self.message = message
    }

    public var description: String { "\(operation): \(message)" }
}
