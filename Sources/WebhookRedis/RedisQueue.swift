import Foundation
import WebhookCore
import WebhookQueue

/// The queue in Redis: taking, waiting, settling and retry promotion.
/// Registration, reaping and depths are in `RedisQueue+Workers.swift`, dead letters and health
/// checks in `RedisQueue+Admin.swift`; keys are in `Keys.swift`, scripts in `Scripts.swift`.
/// The worker reaches it through `RedisDeliveryQueue`, the `DeliveryQueue` driver, which turns
/// its `RedisError`s into `QueueError`s; the CLI, dashboard and health probe call it directly.
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
    /// The settle's argument buffer, kept between settles (see `settle`).
    private var settleArguments = FramedArguments()

    /// When set, this queue's scripts run only on the server with this `serverID`, and throw
    /// `.serverChanged` on any other: a worker's settles must not land on another server (a
    /// failover, a `MOVED`, a restart) before it has put back there what it holds (see
    /// `restore(_:)`).
    public var pinnedServerID: String?

    /// The attempt log's caps, sent with every settle (records are written only when
    /// `maxRecords` > 0); off until the worker sets it.
    public var attemptLog = AttemptLogConfiguration(maxRecords: 0)
    /// The ordered endpoints: when there are any, `take` fans each event out into their per-key
    /// order (`Scripts.takeOrdered`); when there are none it runs the plain `take`.
    public var orderedRoutes: [OrderedRoute] = []

    /// The server the connection reached (its `run_id`, or a token per connection when it will
    /// not say); nil before the first connection.
    public var serverID: String? { connection.serverID }

    /// Connects lazily: creating a queue never fails, the first call reports an unreachable Redis.
    /// - Parameter readTimeout: seconds one reply may take (a health probe wants fewer than the
    ///   default).
    public init(url: RedisURL, prefix: String, workerID: String, readTimeout: Double = RedisConnection.defaultReadTimeout) {
        self.connection = LazyConnection(url: url, readTimeout: readTimeout)
        self.workerID = workerID
        self.keys = RedisKeys(prefix: prefix)
        self.processingKey = keys.processing(workerID)
    }

    // MARK: Work

    /// Moves up to `max` items (and about `maxBytes` bytes, at least one item) from the queue's
    /// taking end into this worker's processing list, tagging raw events (`#<tag> <raw>`) on
    /// the way; returns them oldest first, exactly as stored.
    /// - Throws: `RedisError` with code `.unregistered` when this worker is not registered.
    public func take(max: Int, maxBytes: Int) throws(RedisError) -> [[UInt8]] {
        guard max > 0 else { return [] }
        if !orderedRoutes.isEmpty { return try takeOrdered(max: max, maxBytes: maxBytes) }
        let reply = try run(Scripts.take, keys: [keys.queue, processingKey, keys.workers, keys.holders],
                            args: [Array(workerID.utf8), Array(String(max).utf8), Array(String(Swift.max(1, maxBytes)).utf8),
                                   Array((RandomToken.make(16) + "-").utf8)])
        guard let elements = reply.array else { throw unexpected("EVALSHA(take)", reply) }
        return elements.map { $0.bytes ?? [] }
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
        case .error(let message): throw RedisError(call: "BLMOVE", message: message, isConnectionError: false)
        default: throw unexpected("BLMOVE", reply)
        }
    }

    /// Records finished events, each atomically and fenced (see `Scripts.settle`): an event's
    /// outcomes are written only if it is still in this worker's processing list.
    /// - Parameter deadMax: the dead list's cap (`WEBHOOK_DEAD_MAX`); 0 for none.
    public func settle(_ settlements: ArraySlice<Settlement>, deadMax: Int) throws(RedisError) -> SettleResult {
        guard !settlements.isEmpty else { return SettleResult(written: 0, fenced: 0, trimmed: 0) }
        // The buffer of the last settle, emptied: a new one of tens of kilobytes per settle made
        // glibc's malloc consolidate every small chunk freed since (a large request does).
        var args = FramedArguments()
        swap(&args, &settleArguments)
        defer {
            args.removeAll()
            swap(&args, &settleArguments)
        }
        args.reserveCapacity(Self.framedSize(settlements, log: attemptLog.isOn))
        args.append(deadMax)
        args.append(settlements.count)
        args.append(attemptLog.maxRecords)
        args.append(attemptLog.maxAgeMillis)
        // Events with writes first: under `maxmemory` Redis refuses a script's first write when
        // memory is full, and only its first, so the whole settle then fails before anything is
        // written; removals alone (delivered events) would let later writes through.
        // Through a buffer pointer: `for settlement in settlements` copies each one (retaining
        // every array it holds), twice over; a pointer's elements are read in place.
        let log = attemptLog.isOn
        settlements.withUnsafeBufferPointer { held in
            // That order, as two passes over the events (with writes, then without) rather than
            // an array of it: no allocation per settle. The shape and the arguments follow it.
            func inOrder(_ body: (Int) -> Void) {
                for pass in 0..<2 {
                    for index in held.indices where held[index].outcomes.isEmpty == (pass == 1) { body(index) }
                }
            }
            args.append(length: 6 * held.count) { shape in
                inOrder { index in
                    Self.appendCount(held[index].outcomes.count, to: &shape)
                    Self.appendCount(log ? held[index].log.count : 0, to: &shape)
                }
            }
            inOrder { index in Self.append(held.baseAddress! + index, log: log, to: &args) }
        }
        let reply = try run(Scripts.settle, keys: [keys.queue, keys.delayed, keys.dead, processingKey, keys.log], args: args)
        guard let parts = reply.array, parts.count == 4,
              let written = parts[0].integer, let fenced = parts[1].integer, let trimmed = parts[2].integer,
              let logFailed = parts[3].integer
        else { throw unexpected("EVALSHA(settle)", reply) }
        return SettleResult(written: written, fenced: fenced, trimmed: trimmed, logFailed: logFailed != 0)
    }

    /// One event's settle arguments: its stored item, then each outcome, then each record
    /// (none when the log is off). Its counts are in the shape (`appendCount`). Through a
    /// pointer, as `DeliveryMetrics.count` reads its notes: a settlement passed from the buffer
    /// was copied for the call (its arrays retained and released), once per event.
    private static func append(_ settlement: UnsafePointer<Settlement>, log: Bool, to args: inout FramedArguments) {
        args.append(settlement.pointee.ack)
        for outcome in settlement.pointee.outcomes {
            switch outcome {
            case .retry(let after, let item):
                args.append("r")
                args.append(score(Swift.max(0, after)))
                args.append(item)
            case .requeue(let item):
                args.append("q")
                args.append(item)
            case .dead(let entry):
                args.append("d")
                args.append(entry)
            }
        }
        if log {
            for index in settlement.pointee.log.indices { args.append(settlement.pointee.log[index]) }
        }
    }

    /// A count of the settle's shape: 3 bytes, most significant first (see `Scripts.settle`).
    private static func appendCount(_ count: Int, to shape: inout [UInt8]) {
        precondition(count < 1 << 24, "more than 16,777,215 outcomes or records for one event")
        shape.append(UInt8(truncatingIfNeeded: count >> 16))
        shape.append(UInt8(truncatingIfNeeded: count >> 8))
        shape.append(UInt8(truncatingIfNeeded: count))
    }

    /// About the framed size of a settle's arguments, so its buffer is allocated once: the
    /// bytes of every argument, plus framing (at most 16 bytes per argument) for each.
    private static func framedSize(_ settlements: ArraySlice<Settlement>, log: Bool) -> Int {
        var total = 64
        settlements.withUnsafeBufferPointer { held in
            for index in held.indices {
                total += held[index].ack.count + 16 + 6
                for outcome in held[index].outcomes {
                    switch outcome {
                    case .retry(_, let item): total += item.count + 3 * 16 + 24
                    case .requeue(let item), .dead(let item): total += item.count + 2 * 16
                    }
                }
                if log {
                    for record in held[index].log { total += record.count + 16 }
                }
            }
        }
        return total
    }

    /// Moves up to `limit` deliveries due now (Redis's clock) from the delayed set to the taking
    /// end of the queue. Safe to run from many workers at once.
    /// - Returns: how many moved (call again while it equals `limit`), and the seconds until the
    ///   next delivery falls due (nil when the set is empty).
    public func promoteDue(limit: Int) throws(RedisError) -> (moved: Int, nextDueIn: Double?) {
        let reply = try run(Scripts.promote, keys: [keys.delayed, keys.queue], args: [Array(String(Swift.max(1, limit)).utf8)])
        guard let parts = reply.array, parts.count == 2, let moved = parts[0].integer, let wait = parts[1].integer
        else { throw unexpected("EVALSHA(promote)", reply) }
        return (moved, wait < 0 ? nil : Double(wait) / 1000)
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

    /// Runs a script by SHA (see `LazyConnection.runScript`, shared with `EndpointState`).
    func run(_ script: LuaScript, keys: [String], args: [[UInt8]], pinned: Bool = true) throws(RedisError) -> RedisReply {
        try connection.runScript(script, keys: keys, args: args, shas: &scriptSHAs, pinned: pinned ? pinnedServerID : nil)
    }

    /// `run(_:keys:args:pinned:)` with the arguments already framed.
    func run(_ script: LuaScript, keys: [String], args: FramedArguments, pinned: Bool = true) throws(RedisError) -> RedisReply {
        try connection.runScript(script, keys: keys, args: args, shas: &scriptSHAs, pinned: pinned ? pinnedServerID : nil)
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
}
