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
    private var ingestSHA: String?  // guarded by `lock`

    /// Connects at once, so a wrong URL or password shows up here.
    /// - Parameter readTimeout: seconds one reply may take.
    public init(url: RedisURL, prefix: String = "webhooks",
                readTimeout: Double = RedisConnection.defaultReadTimeout) throws(RedisError) {
        self.keys = RedisKeys(prefix: prefix)
        self.connection = LazyConnection(url: url, readTimeout: readTimeout)
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

    /// Writes one bridge POST (`Scripts.ingest`): its events onto the queue and its dead
    /// letters onto the dead list, at most once per `write.id` while its marker lives. Safe to
    /// call again with the same write after any error, which is how a write whose reply was
    /// lost is finished.
    /// - Parameters:
    ///   - markerMillis: how long the marker guards against a repeated write.
    ///   - deadMax: the dead list's cap (`WEBHOOK_DEAD_MAX`, 0: none).
    public func ingest(_ write: IngestWrite, markerMillis: Int, deadMax: Int) throws(RedisError) -> IngestOutcome {
        // Small arguments and dead letters in one buffer; the events stay in the body.
        var small: [[UInt8]] = [
            Array(keys.queue.utf8), Array(keys.dead.utf8), Array(keys.ingest(write.id).utf8),
            Array(String(markerMillis).utf8), Array(String(deadMax).utf8), Array(String(write.events.count).utf8),
        ]
        small.append(contentsOf: write.deadLetters)
        lock.lock()
        defer { lock.unlock() }
        let reply = try connection.run { connection throws(RedisError) -> RedisReply in
            if ingestSHA == nil, let sha = try connection.command("SCRIPT", "LOAD", Scripts.ingest.source).text {
                ingestSHA = sha
            }
            if let sha = ingestSHA {
                let reply = try Self.evaluate(connection, ["EVALSHA", sha, "3"], small, write)
                guard reply.errorMessage?.hasPrefix("NOSCRIPT") == true else { return reply }
            }
            return try Self.evaluate(connection, ["EVAL", Scripts.ingest.source, "3"], small, write)
        }
        if case .error(let message) = reply {
            throw RedisError(call: "EVALSHA(ingest)", message: message, isConnectionError: false)
        }
        guard let parts = reply.array, parts.count == 2, let written = parts[0].integer, let trimmed = parts[1].integer else {
            throw RedisError(call: "EVALSHA(ingest)", message: "unexpected reply \(reply)", isConnectionError: false)
        }
        return written == 1 ? .written(deadTrimmed: trimmed) : .alreadyWritten
    }

    /// `head` (command, script, key count), then `small` (keys, counts, dead letters, copied
    /// into one buffer), then, before the dead letters, the events as pointers into the body.
    private static func evaluate(_ connection: RedisConnection, _ head: [String], _ small: [[UInt8]],
                                 _ write: IngestWrite) throws(RedisError) -> RedisReply {
        let fixed = head.map { Array($0.utf8) } + small
        var storage: [UInt8] = []
        storage.reserveCapacity(fixed.reduce(1) { $0 + $1.count })
        var spans: [Range<Int>] = []
        spans.reserveCapacity(fixed.count)
        for argument in fixed {
            spans.append(storage.count..<storage.count + argument.count)
            storage.append(contentsOf: argument)
        }
        storage.append(0)  // never empty, so every pointer is valid
        // head + keys (3) + marker ms, dead max, count (3): the events come after these.
        let eventsAt = head.count + 6
        return try storage.withUnsafeBufferPointer { (stored) throws(RedisError) -> RedisReply in
            try write.body.withUnsafeBufferPointer { (body) throws(RedisError) -> RedisReply in
                let storedBase = UnsafeRawPointer(stored.baseAddress!).assumingMemoryBound(to: CChar.self)
                // An empty body still needs a valid pointer; no event then points into it.
                let bodyBase = body.baseAddress.map { UnsafeRawPointer($0).assumingMemoryBound(to: CChar.self) } ?? storedBase
                var argv: [UnsafePointer<CChar>?] = []
                var lengths: [Int] = []
                argv.reserveCapacity(spans.count + write.events.count)
                lengths.reserveCapacity(spans.count + write.events.count)
                for span in spans[..<eventsAt] {
                    argv.append(storedBase + span.lowerBound)
                    lengths.append(span.count)
                }
                for event in write.events {
                    argv.append(bodyBase + event.lowerBound)
                    lengths.append(event.count)
                }
                for span in spans[eventsAt...] {
                    argv.append(storedBase + span.lowerBound)
                    lengths.append(span.count)
                }
                return try connection.command(argv: argv, lengths: lengths, name: head[0])
            }
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
