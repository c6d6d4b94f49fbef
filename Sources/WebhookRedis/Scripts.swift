/// A Lua script run with EVALSHA (EVAL when the server lost its script cache).
struct LuaScript: Sendable {
    /// Short name for error messages, e.g. `EVALSHA(take)`.
    let name: String
    let source: String
}

/// Every Lua script the queue runs. Each says why it must be one atomic step. Scripts that push
/// and remove always push first: Redis does not roll back a script that fails half-way (e.g. on
/// OOM), so a failure can at worst duplicate work, never lose it.
///
/// Large argument lists go through `unpack` in chunks of 1,000 to stay within Lua's C stack.
/// Processing-list keys are built from a prefix inside `reap`, so this needs a single Redis
/// (not Redis Cluster), like the rest of the design.
enum Scripts {
    /// KEYS: queue, processing list. ARGV: max count, tag base.
    /// Returns the items exactly as stored in the processing list.
    ///
    /// Atomic: an item leaves the queue and enters the processing list in one step, so a crash
    /// can neither lose it (popped, not recorded) nor duplicate it (recorded, still queued).
    /// Raw events get a unique tag here, so the webhook-id derived from it survives a crash.
    static let take = LuaScript(name: "take", source: """
        local items = redis.call('RPOP', KEYS[1], ARGV[1])
        if not items then return {} end
        for i = 1, #items do
          local first = string.byte(items[i], 1)
          -- '#' (35) is an already tagged event, '@' (64) a delivery: both stay as they are.
          if first ~= 35 and first ~= 64 then
            items[i] = '#' .. ARGV[2] .. i .. ' ' .. items[i]
          end
        end
        for i = 1, #items, 1000 do
          redis.call('LPUSH', KEYS[2], unpack(items, i, math.min(i + 999, #items)))
        end
        return items
        """)

    /// KEYS: queue, delayed, dead, processing list.
    /// ARGV: #requeue, #retries, #dead, #acks, then the requeued items, the retries as
    /// score/item pairs, the dead letters, the acknowledged items.
    ///
    /// Atomic: a finished event must leave the processing list in the same step that records its
    /// outcome (retry, dead letter, requeue); otherwise a crash in between loses or repeats it.
    static let settle = LuaScript(name: "settle", source: """
        local pos = 5
        local function pushAll(command, key, count)
          local last = pos + count - 1
          -- 1000 is even, so ZADD's score/member pairs are never split between chunks.
          for i = pos, last, 1000 do
            redis.call(command, key, unpack(ARGV, i, math.min(i + 999, last)))
          end
          pos = last + 1
        end
        pushAll('RPUSH', KEYS[1], tonumber(ARGV[1]))
        pushAll('ZADD', KEYS[2], tonumber(ARGV[2]) * 2)
        pushAll('LPUSH', KEYS[3], tonumber(ARGV[3]))
        local removed = 0
        for i = pos, pos + tonumber(ARGV[4]) - 1 do
          -- From the tail: the oldest items sit there and are usually the ones finishing.
          removed = removed + redis.call('LREM', KEYS[4], -1, ARGV[i])
        end
        return removed
        """)

    /// KEYS: delayed, queue. ARGV: now (Unix seconds), limit.
    /// Returns how many deliveries moved.
    ///
    /// Atomic: the pollers of all workers run concurrently; reading, pushing and removing in one
    /// step moves each due delivery exactly once (no duplicates, none lost).
    static let promote = LuaScript(name: "promote", source: """
        local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, ARGV[2])
        for i = 1, #due, 1000 do
          local last = math.min(i + 999, #due)
          redis.call('RPUSH', KEYS[2], unpack(due, i, last))
          redis.call('ZREM', KEYS[1], unpack(due, i, last))
        end
        return #due
        """)

    /// KEYS: workers, queue. ARGV: cutoff (Unix ms; older heartbeats are expired), the prefix of
    /// processing-list keys. Returns how many items went back to the queue.
    ///
    /// Atomic: two reapers must not split one dead worker's list between them, and a worker's
    /// entry may only disappear once its items are back in the queue.
    static let reap = LuaScript(name: "reap", source: """
        local expired = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[1])
        local moved = 0
        for _, worker in ipairs(expired) do
          local list = ARGV[2] .. worker
          -- LEFT -> RIGHT keeps the original order: the oldest item ends up taken first.
          while redis.call('LMOVE', list, KEYS[2], 'LEFT', 'RIGHT') do moved = moved + 1 end
          redis.call('ZREM', KEYS[1], worker)
        end
        return moved
        """)

    /// KEYS: processing list, queue. Returns how many items went back to the queue.
    ///
    /// Atomic: a reaper running at the same moment sees the list either whole or empty.
    static let handBack = LuaScript(name: "handBack", source: """
        local moved = 0
        -- LEFT -> RIGHT: the oldest item ends up rightmost, so it is taken next.
        while redis.call('LMOVE', KEYS[1], KEYS[2], 'LEFT', 'RIGHT') do moved = moved + 1 end
        return moved
        """)

    /// KEYS: workers, processing list. ARGV: worker ID. Returns 1 when deregistered.
    ///
    /// Atomic with the emptiness check: a worker still holding items stays registered, so
    /// reapers return the items once its lease expires instead of orphaning them.
    static let deregister = LuaScript(name: "deregister", source: """
        if redis.call('LLEN', KEYS[2]) > 0 then return 0 end
        redis.call('ZREM', KEYS[1], ARGV[1])
        return 1
        """)

    /// KEYS: dead, queue. ARGV: the exact dead entry, optionally the item to enqueue.
    /// Returns 1 when the entry was found (and replaced), 0 when it was already gone.
    ///
    /// Atomic: two operators replaying the same dead letter enqueue it once.
    static let deadReplace = LuaScript(name: "deadReplace", source: """
        if not redis.call('LPOS', KEYS[1], ARGV[1]) then return 0 end
        if ARGV[2] then redis.call('RPUSH', KEYS[2], ARGV[2]) end
        redis.call('LREM', KEYS[1], 1, ARGV[1])
        return 1
        """)

    /// KEYS: dead. Returns how many entries were deleted.
    ///
    /// Atomic: the count is exactly what was deleted, even while workers add dead letters.
    static let deadPurge = LuaScript(name: "deadPurge", source: """
        local count = redis.call('LLEN', KEYS[1])
        redis.call('DEL', KEYS[1])
        return count
        """)
}
