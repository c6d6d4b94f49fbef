/// Worker registration, crash recovery and queue depths.
extension RedisQueue {
    /// Records that this worker is alive at `nowMillis` (Unix ms). A worker must heartbeat before
    /// its first take, or a crash before the first heartbeat would leave its items unreaped.
    public func heartbeat(nowMillis: Int) throws(RedisError) {
        _ = try command("ZADD", keys.workers, String(nowMillis), workerID)
    }

    /// Returns the processing lists of every worker whose last heartbeat is older than
    /// `leaseMillis` to the queue's taking end and forgets those workers. Tags are kept, so the
    /// events keep their webhook-ids. Safe to run from many workers at once.
    /// - Returns: how many items went back to the queue.
    @discardableResult
    public func reap(nowMillis: Int, leaseMillis: Int) throws(RedisError) -> Int {
        let cutoff = String(nowMillis - leaseMillis)
        let reply = try run(Scripts.reap, keys: [keys.workers, keys.queue], args: [Array(cutoff.utf8), Array(keys.processingPrefix.utf8)])
        guard let moved = reply.integer else { throw unexpected("EVALSHA(reap)", reply) }
        return moved
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
        let reply = try run(Scripts.deregister, keys: [keys.workers, processingKey], args: [Array(workerID.utf8)])
        return reply.integer == 1
    }

    /// Sizes of the queue, the delayed set, all processing lists and the dead list, and the live
    /// workers (heartbeat within `leaseMillis` of `nowMillis`). Two round trips, not atomic.
    public func depths(nowMillis: Int, leaseMillis: Int) throws(RedisError) -> QueueDepths {
        let reply = try command("ZRANGE", keys.workers, "0", "-1", "WITHSCORES")
        guard let pairs = reply.array, pairs.count % 2 == 0 else { throw unexpected("ZRANGE", reply) }
        var members: [String] = []
        var live: [String] = []
        for index in stride(from: 0, to: pairs.count, by: 2) {
            guard let member = pairs[index].text, let score = pairs[index + 1].text.flatMap(Double.init) else {
                throw unexpected("ZRANGE", reply)
            }
            members.append(member)
            if score >= Double(nowMillis - leaseMillis) { live.append(member) }
        }
        let commands: [[String]] = [["LLEN", keys.queue], ["ZCARD", keys.delayed], ["LLEN", keys.dead]]
            + members.map { ["LLEN", keys.processing($0)] }
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
}
