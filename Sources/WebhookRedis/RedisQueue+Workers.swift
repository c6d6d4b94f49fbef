import Foundation
import WebhookQueue

/// Worker registration, crash recovery and queue depths. Every time here is Redis's (`TIME`).
extension RedisQueue {
    /// Registers this worker (`join: true`, refused while another live worker has the ID), or
    /// refreshes its heartbeat (`join: false`, which never re-registers a reaped worker).
    /// A worker joins before its first take, so a crash before then leaves nothing unreaped.
    public func heartbeat(join: Bool, leaseMillis: Int) throws(RedisError) -> Heartbeat {
        let reply = try run(Scripts.heartbeat, keys: [keys.workers],
                            args: [Array(workerID.utf8), Array(String(leaseMillis).utf8), Array((join ? "join" : "beat").utf8)])
        switch reply.integer {
        case -1: return .idTaken
        case 0: return join ? .alive : .unregistered
        case 1: return .alive
        default: throw unexpected("EVALSHA(heartbeat)", reply)
        }
    }

    /// Workers whose processing lists may need reaping: registered ones whose heartbeat is older
    /// than the lease, and holders of processing lists that are not registered at all (the
    /// sweep). Each is re-checked atomically by `reap(worker:leaseMillis:)`.
    public func reapCandidates(leaseMillis: Int) throws(RedisError) -> [String] {
        let roster = try workerRoster(leaseMillis: leaseMillis)
        return roster.registered.filter { !roster.live.contains($0) }.sorted()
            + roster.holders.subtracting(roster.registered).sorted()
    }

    /// Who is registered, who of them is live (heartbeat within the lease, on Redis's clock) and
    /// who holds a processing list: one round trip (TIME, the workers set, the holders set).
    func workerRoster(leaseMillis: Int) throws(RedisError) -> (registered: Set<String>, live: Set<String>, holders: Set<String>) {
        let replies = try withConnection { connection throws(RedisError) in
            try connection.pipeline([
                ["TIME"], ["ZRANGE", keys.workers, "0", "-1", "WITHSCORES"], ["SMEMBERS", keys.holders],
            ].map { $0.map { Array($0.utf8) } })
        }
        guard replies.count == 3, let time = replies[0].array, time.count == 2,
              let seconds = time[0].text.flatMap(Int.init), let micros = time[1].text.flatMap(Int.init),
              let pairs = replies[1].array, pairs.count % 2 == 0, let holders = replies[2].array
        else { throw unexpected("TIME/ZRANGE/SMEMBERS", replies.first ?? .null) }
        let cutoff = Double(seconds * 1000 + micros / 1000 - leaseMillis)
        var registered: Set<String> = [], live: Set<String> = []
        for index in stride(from: 0, to: pairs.count, by: 2) {
            guard let member = pairs[index].text, let score = pairs[index + 1].text.flatMap(Double.init) else {
                throw unexpected("ZRANGE", replies[1])
            }
            registered.insert(member)
            if score >= cutoff { live.insert(member) }
        }
        return (registered, live, Set(holders.compactMap(\.text)))
    }

    /// Returns `worker`'s processing list to the queue's taking end and forgets the worker,
    /// unless it proved alive in the meantime; marks each item with the number of holders that
    /// died with it. Safe to run from many workers at once.
    /// - Returns: how many items went back, or nil when the worker is alive.
    @discardableResult
    public func reap(worker: String, leaseMillis: Int) throws(RedisError) -> Int? {
        let reply = try run(Scripts.reap,
                            keys: [keys.workers, keys.holders, keys.processing(worker), keys.admitting(worker), keys.queue],
                            args: [Array(worker.utf8), Array(String(leaseMillis).utf8)])
        guard let moved = reply.integer else { throw unexpected("EVALSHA(reap)", reply) }
        return moved < 0 ? nil : moved
    }

    /// Records that this worker is admitting the suspect item with this SHA-1 (hex), so that if
    /// the worker dies now, only that item is blamed. Pass nil when done.
    public func markAdmitting(sha1: String?) throws(RedisError) {
        if let sha1 {
            _ = try command("SET", keys.admitting(workerID), sha1)
        } else {
            _ = try command("DEL", keys.admitting(workerID))
        }
    }

    /// Everything in this worker's processing list (for reconciling after a lost take reply).
    public func processingItems() throws(RedisError) -> [[UInt8]] {
        let reply = try command("LRANGE", processingKey, "0", "-1")
        guard let elements = reply.array else { throw unexpected("LRANGE", reply) }
        return elements.compactMap(\.bytes)
    }

    /// Moves `items` from this worker's processing list back to the queue's taking end, each only
    /// if it is still there.
    /// - Returns: how many moved.
    @discardableResult
    public func release(_ items: [[UInt8]]) throws(RedisError) -> Int {
        guard !items.isEmpty else { return 0 }
        let reply = try run(Scripts.release, keys: [processingKey, keys.queue], args: items)
        guard let moved = reply.integer else { throw unexpected("EVALSHA(release)", reply) }
        return moved
    }

    /// Puts `items` (which this worker holds in memory) back into its processing list, each
    /// only if it is not there, and marks the worker as a holder; not pinned: this is what a
    /// worker does first on a new server (`pinnedServerID`). For a server that lost them
    /// (a failover that lost the take, a restart without persistence), so their outcomes are
    /// written instead of fenced out.
    /// - Returns: how many went back.
    @discardableResult
    public func restore(_ items: [[UInt8]]) throws(RedisError) -> Int {
        guard !items.isEmpty else { return 0 }
        let reply = try run(Scripts.restore, keys: [processingKey, keys.holders], args: [Array(workerID.utf8)] + items,
                            pinned: false)
        guard let restored = reply.integer else { throw unexpected("EVALSHA(restore)", reply) }
        return restored
    }

    /// Moves everything this worker holds back to the queue's taking end (on shutdown), oldest
    /// taken first.
    /// - Returns: how many items went back.
    @discardableResult
    public func handBack() throws(RedisError) -> Int {
        let reply = try run(Scripts.handBack, keys: [processingKey, keys.queue], args: [])
        guard let moved = reply.integer else { throw unexpected("EVALSHA(handBack)", reply) }
        return moved
    }

    /// Removes this worker from the workers set, but only when its processing list is empty:
    /// a worker that still holds items stays registered so reapers recover them after its lease.
    /// - Returns: true when deregistered.
    @discardableResult
    public func deregister() throws(RedisError) -> Bool {
        let reply = try run(Scripts.deregister,
                            keys: [keys.workers, keys.holders, processingKey, keys.admitting(workerID)],
                            args: [Array(workerID.utf8)])
        return reply.integer == 1
    }

    /// Sizes of the queue, the delayed set, all processing lists and the dead list, and the live
    /// workers (heartbeat within `leaseMillis` of Redis's now). Two round trips, not atomic.
    public func depths(leaseMillis: Int) throws(RedisError) -> QueueDepths {
        let roster = try workerRoster(leaseMillis: leaseMillis)
        let live = Array(roster.live)
        let holders = roster.registered.union(roster.holders).sorted()
        let commands: [[String]] = [["LLEN", keys.queue], ["ZCARD", keys.delayed], ["LLEN", keys.dead]]
            + holders.map { ["LLEN", keys.processing($0)] }
        let replies = try withConnection { connection throws(RedisError) in
            try connection.pipeline(commands.map { $0.map { Array($0.utf8) } })
        }
        var counts: [Int] = []
        for (reply, command) in zip(replies, commands) {
            guard let count = reply.integer else { throw unexpected(command[0], reply) }
            counts.append(count)
        }
        return QueueDepths(queue: counts[0], delayed: counts[1], processing: counts[3...].reduce(0, +),
                           dead: counts[2], workers: live.sorted())
    }

    /// `LPUSH`es items onto the queue in one command.
    public func push(_ items: [[UInt8]]) throws(RedisError) {
        guard !items.isEmpty else { return }
        let reply = try withConnection { connection throws(RedisError) in
            try connection.command([Array("LPUSH".utf8), Array(keys.queue.utf8)] + items)
        }
        if case .error(let message) = reply { throw RedisError(call: "LPUSH", message: message, isConnectionError: false) }
    }
}
