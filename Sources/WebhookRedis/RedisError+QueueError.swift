import WebhookQueue

extension QueueError {
    /// The one mapping from the Redis module's errors to the driver boundary's: what a Redis
    /// driver throws to the worker. The code is taken from `RedisError.code` (the error reply's
    /// word, read once here) and stored; the message and operation are kept for the logs.
    public init(_ error: RedisError) {
        let code: QueueErrorCode
        switch error.code {
        case .connection: code = .connection
        case .outOfMemory: code = .outOfMemory
        case .readOnly: code = .readOnly
        case .unregistered: code = .unregistered
        case .serverChanged: code = .serverChanged
        // Redirections and transient states `LazyConnection` could not follow or wait out.
        case .moved, .ask, .tryAgain, .clusterDown, .loading, .busy: code = .unavailable
        case .noAuth, .wrongPass: code = .unauthorized
        case .unexpectedReply: code = .unexpectedReply
        case .noScript: code = .other("NOSCRIPT")
        case .other(let word): code = .other(word)
        }
        self.init(code, operation: error.call, message: error.message)
    }
}

/// Runs a Redis call for a driver method, throwing its error as the `QueueError` it maps to.
func mapped<T>(_ body: () throws(RedisError) -> T) throws(QueueError) -> T {
    do { return try body() } catch { throw QueueError(error) }
}
