/// Health checks and dead-letter administration: the CLI's, the probe's and the dashboard's, not
/// the worker's (`DeliveryQueue` has none of them; `maxmemoryPolicy` is the one a worker calls,
/// through `RedisDeliveryQueue`).
extension RedisQueue {
    /// Answers when Redis does; throws otherwise.
    public func ping() throws(RedisError) {
        let reply = try command("PING")
        guard reply.text == "PONG" else { throw unexpected("PING", reply) }
    }

    /// The server's `maxmemory-policy`, or nil when CONFIG is disabled (managed Redis often
    /// renames it). Anything but `noeviction` can silently evict queued events.
    public func maxmemoryPolicy() throws(RedisError) -> String? {
        let reply = try withConnection { connection throws(RedisError) in
            try connection.command("CONFIG", "GET", "maxmemory-policy")
        }
        guard let pair = reply.array, pair.count == 2 else { return nil }  // includes error replies
        return pair[1].text
    }

    /// Up to `limit` dead letters, newest first, byte for byte, skipping the `offset` newest
    /// (to read a long list a page at a time).
    public func deadList(offset: Int = 0, limit: Int) throws(RedisError) -> [[UInt8]] {
        guard limit > 0, offset >= 0 else { return [] }
        let last = limit > Int.max - offset ? Int.max : offset + limit - 1
        let reply = try command("LRANGE", keys.dead, String(offset), String(last))
        guard let elements = reply.array else { throw unexpected("LRANGE", reply) }
        return elements.compactMap(\.bytes)
    }

    /// How many dead letters there are (`LLEN`).
    public func deadCount() throws(RedisError) -> Int {
        let reply = try command("LLEN", keys.dead)
        guard let count = reply.integer else { throw unexpected("LLEN", reply) }
        return count
    }

    /// Removes the exact dead entry and, when `item` is given, enqueues it at the taking end
    /// (a replay), in one atomic step.
    /// - Returns: false when the entry was already gone (nothing enqueued).
    @discardableResult
    public func deadReplace(entry: [UInt8], with item: [UInt8]?) throws(RedisError) -> Bool {
        let args = [entry] + (item.map { [$0] } ?? [])
        let reply = try run(Scripts.deadReplace, keys: [keys.dead, keys.queue], args: args)
        return reply.integer == 1
    }

    /// Deletes every dead letter.
    /// - Returns: how many were deleted.
    @discardableResult
    public func deadPurge() throws(RedisError) -> Int {
        let reply = try run(Scripts.deadPurge, keys: [keys.dead], args: [])
        guard let count = reply.integer else { throw unexpected("EVALSHA(deadPurge)", reply) }
        return count
    }
}
