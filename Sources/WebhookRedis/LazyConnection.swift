import WebhookCore

/// A connection opened on first use and dropped after a connection error, so the next call
/// reconnects. The owner decides about backoff and retries. Not thread-safe: one owner at a time.
final class LazyConnection {
    private let url: RedisURL
    private var connection: RedisConnection?

    init(url: RedisURL, connection: RedisConnection? = nil) {
        self.url = url
        self.connection = connection
    }

    /// Runs `body` on the connection, opening it first if needed.
    func run<T>(_ body: (RedisConnection) throws(RedisError) -> T) throws(RedisError) -> T {
        let current: RedisConnection
        if let connection {
            current = connection
        } else {
            current = try RedisConnection(url: url)
            connection = current
        }
        do {
            return try body(current)
        } catch {
            if error.isConnectionError { connection = nil }
            throw error
        }
    }
}
