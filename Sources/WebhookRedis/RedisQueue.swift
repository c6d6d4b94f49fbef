import Foundation
import WebhookCore

/// The driver a worker talks to: taking, waiting, settling and retry promotion.
/// Registration, reaping and depths are in `RedisQueue+Workers.swift`, dead letters and health
/// checks in `RedisQueue+Admin.swift`; keys are in `Keys.swift`, scripts in `Scripts.swift`.
///
/// Owns one `RedisConnection`, opened on first use and reopened on the call after a connection
/// error: the caller decides about backoff and retries, this type only reconnects.
/// Not thread-safe: one per thread, like the connection.
public final class RedisQueue {
    /// This worker's ID: names its processing list and its entry in the workers set.
    public let workerID: String

    let keys: RedisKeys
    let processingKey: String
    private let connection: LazyConnection
    /// SHA1 of each loaded script by name, from SCRIPT LOAD; kept across reconnects (the SHA
    /// depends only on the source) and re-uploaded by EVAL when the server answers NOSCRIPT.
    private var scriptSHAs: [String: String] = [:]

    /// Connects lazily: creating a queue never fails, the first call reports an unreachable Redis.
    public init(url: RedisURL, prefix: String, workerID: String) {
        self.connection = LazyConnection(url: url)
        self.workerID = workerID
        self.keys = RedisKeys(prefix: prefix)
        self.processingKey = keys.processing(workerID)
    }

    // MARK: Work

    /// Moves up to `max` items from the queue's taking end into this worker's processing list,
    /// tagging raw events (`#<tag> <raw>`) on the way; returns them oldest first.
    public func take(max: Int) throws(RedisError) -> [TakenItem] {
        guard max > 0 else { return [] }
        let reply = try run(Scripts.take, keys: [keys.queue, processingKey], args: [Array(String(max).utf8), Array(Self.newTagBase().utf8)])
        guard let elements = reply.array else { throw unexpected("EVALSHA(take)", reply) }
        return elements.map { TakenItem(stored: $0.bytes ?? []) }
    }

    /// Blocks until the queue holds something or `timeout` seconds pass, without taking anything:
    /// BLMOVE of the queue's tail onto itself changes neither content nor order.
    /// - Returns: true when the queue is non-empty.
    public func waitForWork(timeout: Double) throws(RedisError) -> Bool {
        // Redis reads 0 as "forever"; a dead server must not hang us either (read timeout + margin).
        let seconds = Swift.max(0.01, timeout)
        let reply = try withConnection { connection throws(RedisError) in
            connection.setReadTimeout(seconds + 5)
            defer { connection.setReadTimeout(nil) }
            return try connection.command("BLMOVE", keys.queue, keys.queue, "RIGHT", "RIGHT", String(format: "%.3f", seconds))
        }
        switch reply {
        case .string: return true
        case .null: return false
        default: throw unexpected("BLMOVE", reply)
        }
    }

    /// Records finished work in one atomic step: requeued items to the taking end of the queue,
    /// retries to the delayed set, dead letters to the dead list, then removes the acks from the
    /// processing list.
    public func settle(_ batch: SettleBatch) throws(RedisError) {
        guard !batch.isEmpty else { return }
        var args: [[UInt8]] = []
        args.reserveCapacity(4 + batch.requeue.count + 2 * batch.retries.count + batch.dead.count + batch.acks.count)
        for count in [batch.requeue.count, batch.retries.count, batch.dead.count, batch.acks.count] {
            args.append(Array(String(count).utf8))
        }
        args.append(contentsOf: batch.requeue)
        for retry in batch.retries {
            args.append(Array(Self.score(retry.due).utf8))
            args.append(retry.item)
        }
        args.append(contentsOf: batch.dead)
        args.append(contentsOf: batch.acks)
        _ = try run(Scripts.settle, keys: [keys.queue, keys.delayed, keys.dead, processingKey], args: args)
    }

    /// Moves up to `limit` deliveries due at `now` (Unix seconds) from the delayed set to the
    /// taking end of the queue. Safe to run from many workers at once.
    /// - Returns: how many moved; call again while it equals `limit`.
    public func promoteDue(now: Double, limit: Int) throws(RedisError) -> Int {
        guard limit > 0 else { return 0 }
        let reply = try run(Scripts.promote, keys: [keys.delayed, keys.queue], args: [Array(Self.score(now).utf8), Array(String(limit).utf8)])
        guard let moved = reply.integer else { throw unexpected("EVALSHA(promote)", reply) }
        return moved
    }

    /// The due time (Unix seconds) of the earliest delayed delivery, nil when there is none.
    public func nextDue() throws(RedisError) -> Double? {
        let reply = try command("ZRANGE", keys.delayed, "0", "0", "WITHSCORES")
        guard let elements = reply.array else { throw unexpected("ZRANGE", reply) }
        guard elements.count == 2 else { return nil }
        guard let score = elements[1].text.flatMap(Double.init) else { throw unexpected("ZRANGE", reply) }
        return score
    }

    // MARK: Plumbing shared by the extensions

    /// Runs `body` on the connection, opening it first if needed; drops it after a connection
    /// error so the next call reconnects.
    func withConnection<T>(_ body: (RedisConnection) throws(RedisError) -> T) throws(RedisError) -> T {
        try connection.run(body)
    }

    /// One command whose error reply is thrown (named after the command).
    func command(_ args: String...) throws(RedisError) -> RedisReply {
        let reply = try withConnection { connection throws(RedisError) in try connection.command(args.map { Array($0.utf8) }) }
        if case .error(let message) = reply {
            throw RedisError(call: args.first ?? "", message: message, isConnectionError: false)
        }
        return reply
    }

    /// Runs a script by SHA, loading it first if this queue has not yet; falls back to EVAL when
    /// the server lost its script cache (restart, SCRIPT FLUSH). Error replies are thrown.
    func run(_ script: LuaScript, keys: [String], args: [[UInt8]]) throws(RedisError) -> RedisReply {
        let tail = [Array(String(keys.count).utf8)] + keys.map { Array($0.utf8) } + args
        let reply = try withConnection { connection throws(RedisError) -> RedisReply in
            if scriptSHAs[script.name] == nil, let sha = try connection.command("SCRIPT", "LOAD", script.source).text {
                scriptSHAs[script.name] = sha
            }
            if let sha = scriptSHAs[script.name] {
                let reply = try connection.command([Array("EVALSHA".utf8), Array(sha.utf8)] + tail)
                guard reply.errorMessage?.hasPrefix("NOSCRIPT") == true else { return reply }
            }
            // EVAL also puts the script back into the server's cache for the next EVALSHA.
            return try connection.command([Array("EVAL".utf8), Array(script.source.utf8)] + tail)
        }
        if case .error(let message) = reply {
            throw RedisError(call: "EVALSHA(\(script.name))", message: message, isConnectionError: false)
        }
        return reply
    }

    /// An error for a reply of the wrong shape (a Redis we do not understand).
    func unexpected(_ call: String, _ reply: RedisReply) -> RedisError {
        RedisError(call: call, message: "unexpected reply \(reply)", isConnectionError: false)
    }

    /// A score as Redis parses it: shortest round-trip decimal, `inf`/`-inf` spelled Redis' way.
    static func score(_ value: Double) -> String {
        if value.isInfinite { return value > 0 ? "+inf" : "-inf" }
        return "\(value)"
    }

    /// A fresh random tag base per take: 16 characters of [0-9a-z] (~82 bits, so bases from
    /// different calls and workers do not collide) and a separator before the item's index.
    static func newTagBase() -> String {
        let alphabet = Array("0123456789abcdefghijklmnopqrstuvwxyz")
        var generator = SystemRandomNumberGenerator()
        var base = String((0..<16).map { _ in alphabet[Int(generator.next(upperBound: UInt(alphabet.count)))] })
        base.append("-")
        return base
    }
}
