import Foundation
import WebhookCore

/// The Swift producer: puts events on the queue, as any producer in any language would (LPUSH).
///
/// Thread-safe: calls are serialized on one connection, which is reopened on the call after a
/// connection error.
public final class EventProducer: @unchecked Sendable {
    private let keys: RedisKeys
    private let lock = NSLock()
    private let connection: LazyConnection  // guarded by `lock`

    /// Connects at once, so a wrong URL or password shows up here.
    public init(url: RedisURL, prefix: String = "webhooks") throws(RedisError) {
        self.keys = RedisKeys(prefix: prefix)
        self.connection = LazyConnection(url: url)
        try connection.open()
    }

    /// Enqueues raw event objects, in order, with one LPUSH: all of them or none.
    /// The bytes are not validated here; a worker dead-letters what it cannot parse.
    public func enqueue(_ events: [[UInt8]]) throws(RedisError) {
        guard !events.isEmpty else { return }
        let args = [Array("LPUSH".utf8), Array(keys.queue.utf8)] + events
        lock.lock()
        defer { lock.unlock() }
        let reply = try connection.run { connection throws(RedisError) in try connection.command(args) }
        if case .error(let message) = reply {
            throw RedisError(call: "LPUSH", message: message, isConnectionError: false)
        }
    }

    /// Builds `{"username":…,"action":…,"enqueued_at":<now, 6 decimals>, <fields in order>}` and
    /// enqueues it. A field named `username`, `action` or `enqueued_at` replaces that value; a
    /// repeated field keeps its first position and its last value.
    public func enqueue(action: String, username: String, fields: [(String, JSONValue)] = [], now: Double) throws {
        try enqueue([Self.event(action: action, username: username, fields: fields, now: now)])
    }

    /// The event object `enqueue(action:username:fields:now:)` sends, as compact JSON
    /// (built in the core: `JSONValue.event`).
    public static func event(action: String, username: String, fields: [(String, JSONValue)] = [], now: Double) throws -> [UInt8] {
        try JSONValue.event(action: action, username: username, fields: fields, now: now)
    }
}
