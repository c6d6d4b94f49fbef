/// A Lua script run with EVALSHA (EVAL when the server lost its script cache).
struct LuaScript: Sendable {
    /// Short name for error messages, e.g. `EVALSHA(take)`.
    let name: String
    let source: String
}

/// Every Lua script the queue runs. Each says why it must be one atomic step.
///
/// Rules every script follows:
/// - Every key it touches is passed in KEYS, never built inside Lua (Redis Cluster routes a
///   script by its KEYS; with a hash-tagged prefix they all share one slot).
/// - Time is Redis's (`TIME`), never a worker's clock: workers on skewed clocks agree on leases
///   and due times. (Redis 5+ replicates a script's effects, so calling TIME is safe.)
/// - Push before remove: Redis does not roll back a script that fails half-way (e.g. on OOM
///   under `noeviction`), so a failure can at worst duplicate an item, never lose it.
enum Scripts {
    /// What `settle` and `orderedSettle` share (prepended to their source). `trimDead(key,
    /// added, cap)`: after `added` dead letters, trims the dead list to `cap` (0: no cap) and
    /// returns how many it dropped (WEBHOOK_DEAD_MAX). The attempt log's write: `writeLog(key, records, cap, maxAgeMillis, nowMillis)` pushes the records with
    /// one LPUSH per 1000, trims the list to `cap`, and drops records older than `maxAgeMillis`
    /// (0: no age limit; at most 1000 per call). Every command is a `redis.pcall`: a failing log
    /// (a key of another type; memory full) returns 1 and fails nothing of the settle, which
    /// made all its writes first. Records start with their time in ms: `[1733225642123,`.
    static let settleHelpers = """
        local function trimDead(key, added, cap)
          if added == 0 or cap <= 0 then return 0 end
          local length = redis.call('LLEN', key)
          if length <= cap then return 0 end
          redis.call('LTRIM', key, 0, cap - 1)
          return length - cap
        end

        local function writeLog(key, logged, cap, maxAge, nowMillis)
          if #logged == 0 then return 0 end
          local length = 0
          for i = 1, #logged, 1000 do
            local reply = redis.pcall('LPUSH', key, unpack(logged, i, math.min(i + 999, #logged)))
            if type(reply) ~= 'number' then return 1 end
            length = reply
          end
          if length > cap then redis.pcall('LTRIM', key, 0, cap - 1) end
          if maxAge > 0 then
            local cutoff = nowMillis - maxAge
            for _ = 1, 1000 do
              local oldest = redis.pcall('LINDEX', key, -1)
              if type(oldest) ~= 'string' then break end
              local time = tonumber(string.match(oldest, '^%[(%d+),'))
              if time and time >= cutoff then break end
              redis.pcall('RPOP', key)
            end
          end
          return 0
        end

        """

    /// KEYS: queue, processing list, workers, holders. ARGV: worker id, max count, max bytes,
    /// tag base. Returns the items exactly as stored in the processing list, oldest first, or
    /// the error `UNREGISTERED` when this worker is not in the workers set.
    ///
    /// Atomic: an item leaves the queue and enters the processing list in one step, so a crash
    /// can neither lose it nor duplicate it. Raw events get a unique tag here, so the webhook-id
    /// derived from it survives a crash. A worker that was reaped (its lease expired while it was
    /// alive, e.g. paused) takes nothing until it has registered again: otherwise its processing
    /// list would belong to no registered worker. The byte budget stops after the item that
    /// crosses it (always at least one item), so a worker's memory is bounded by bytes too.
    /// Items are read with one LRANGE and removed with one LTRIM after the push (push before
    /// remove), not popped one by one: three commands per batch instead of one per item.
    static let take = LuaScript(name: "take", source: """
        if not redis.call('ZSCORE', KEYS[3], ARGV[1]) then
          return redis.error_reply('UNREGISTERED this worker is not in the workers set')
        end
        redis.call('SADD', KEYS[4], ARGV[1])
        local max, budget = tonumber(ARGV[2]), tonumber(ARGV[3])
        -- The oldest items are at the right end: read them in one call, oldest last.
        local oldest = redis.call('LRANGE', KEYS[1], -max, -1)
        local items, total = {}, 0
        for i = 1, #oldest do
          local item = oldest[#oldest - i + 1]
          if i > 1 and total + #item > budget then break end
          total = total + #item
          local first = string.byte(item, 1)
          -- '#' (35) tagged event, '@' (64) delivery, '!' (33) crash-marked: kept as they are.
          if first ~= 35 and first ~= 64 and first ~= 33 then
            item = '#' .. ARGV[4] .. i .. ' ' .. item
          end
          items[i] = item
        end
        for i = 1, #items, 1000 do
          redis.call('LPUSH', KEYS[2], unpack(items, i, math.min(i + 999, #items)))
        end
        if #items > 0 then redis.call('LTRIM', KEYS[1], 0, -#items - 1) end
        return items
        """)

    /// KEYS: queue, delayed, dead, processing list, attempt log. ARGV: max dead letters (0: no
    /// cap), number of events, max log records (0: log off), max log age in ms (0: none), the
    /// shape (6 bytes per event: its number of outcomes and its number of log records, each as
    /// 3 bytes, most significant first), then per event: its stored item, then each outcome:
    /// `r` delay item (retry: delayed set at Redis now + delay), `q` item (requeue at the taking
    /// end), `d` entry (dead letter); then its log records. Returns {written, fenced, trimmed
    /// dead letters, log failed (1/0)}.
    ///
    /// Why the counts travel in one string: every argument costs Redis a parse, an object and,
    /// in Lua 5.1, an interned string; two numbers per event were half the arguments of a
    /// settle of delivered events (`string.byte` reads them without making a string).
    ///
    /// Atomic per event and fenced: an event's outcomes are written only while the event is
    /// still in this worker's processing list, in the same step that removes it. So a retried
    /// settle (its reply lost) writes nothing twice, and a worker that was reaped while it
    /// worked cannot add outcomes for events another worker now owns. Log records are fenced
    /// alike.
    ///
    /// The log is written last and best-effort: every state change of the settle is made
    /// first, and the log's commands run with `redis.pcall`, so their failure (a key of another
    /// type, memory full when nothing else was written) is reported in the reply and fails
    /// nothing. One LPUSH for all the batch's records (plus an LTRIM once over the cap, and an
    /// LINDEX when an age limit is set), not a command per attempt.
    static let settle = LuaScript(name: "settle", source: settleHelpers + """
        local t = redis.call('TIME')
        local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
        local pos, written, fenced, dead = 6, 0, 0, 0
        local logCap, logged, shape = tonumber(ARGV[3]), {}, ARGV[5]
        for event = 0, tonumber(ARGV[2]) - 1 do
          local c1, c2, c3, r1, r2, r3 = string.byte(shape, event * 6 + 1, event * 6 + 6)
          local count, records = (c1 * 256 + c2) * 256 + c3, (r1 * 256 + r2) * 256 + r3
          local ack = ARGV[pos]
          pos = pos + 1
          -- An event with nothing to write needs no check first: LREM's count is the fence.
          -- ('-1' as a string: Redis formats a Lua number argument with snprintf at every call.)
          local held
          if count > 0 then held = redis.call('LPOS', KEYS[4], ack, 'RANK', '-1') end
          for _ = 1, count do
            local kind = ARGV[pos]
            if kind == 'r' then
              if held then redis.call('ZADD', KEYS[2], now + tonumber(ARGV[pos + 1]), ARGV[pos + 2]) end
              pos = pos + 3
            else
              if held then
                if kind == 'q' then redis.call('RPUSH', KEYS[1], ARGV[pos + 1])
                else redis.call('LPUSH', KEYS[3], ARGV[pos + 1]); dead = dead + 1 end
              end
              pos = pos + 2
            end
          end
          if count == 0 then held = redis.call('LREM', KEYS[4], '-1', ack) > 0
          elseif held then redis.call('LREM', KEYS[4], '-1', ack) end
          if held then
            written = written + 1
            if logCap > 0 then
              for i = pos, pos + records - 1 do logged[#logged + 1] = ARGV[i] end
            end
          else
            fenced = fenced + 1
          end
          pos = pos + records
        end
        local trimmed = trimDead(KEYS[3], dead, tonumber(ARGV[1]))
        local logFailed = writeLog(KEYS[5], logged, logCap, tonumber(ARGV[4]),
                                   tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000))
        return {written, fenced, trimmed, logFailed}
        """)

    /// KEYS: delayed, queue. ARGV: limit. Returns {moved, milliseconds until the next due
    /// delivery or -1 when none is left}.
    ///
    /// Atomic: the pollers of all workers run concurrently; reading, pushing and removing in one
    /// step moves each due delivery exactly once.
    static let promote = LuaScript(name: "promote", source: """
        local t = redis.call('TIME')
        local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
        local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, ARGV[1])
        for i = 1, #due, 1000 do
          local last = math.min(i + 999, #due)
          redis.call('RPUSH', KEYS[2], unpack(due, i, last))
          redis.call('ZREM', KEYS[1], unpack(due, i, last))
        end
        local next = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
        local wait = -1
        if next[2] then wait = math.max(0, math.floor((tonumber(next[2]) - now) * 1000)) end
        return {#due, wait}
        """)

    /// KEYS: workers. ARGV: worker id, lease (ms), mode (`join` or `beat`).
    /// `join` returns -1 when a live worker already has this id, else registers and returns 0.
    /// `beat` returns 1 after refreshing, or 0 (changing nothing) when the worker is not
    /// registered: it was reaped, and must join again before it takes anything.
    ///
    /// Atomic: the check and the write see the same state, so two processes started with one
    /// WEBHOOK_WORKER_ID cannot both join, and a beat never resurrects a reaped worker.
    static let heartbeat = LuaScript(name: "heartbeat", source: """
        local t = redis.call('TIME')
        local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
        local score = redis.call('ZSCORE', KEYS[1], ARGV[1])
        if ARGV[3] == 'join' then
          if score and tonumber(score) >= now - tonumber(ARGV[2]) then return -1 end
          redis.call('ZADD', KEYS[1], now, ARGV[1])
          return 0
        end
        if not score then return 0 end
        redis.call('ZADD', KEYS[1], now, ARGV[1])
        return 1
        """)

    /// KEYS: workers, holders, the worker's processing list, its admitting marker, queue.
    /// ARGV: worker id, lease (ms). Returns how many items went back to the queue, or -1 when
    /// the worker is alive after all.
    ///
    /// Atomic: the liveness check and the move see the same state (a worker that heartbeats in
    /// between is not reaped), two reapers cannot split one list, and a worker's entry disappears
    /// only once its items are back. Each item returned carries `!<n> ` in front, n the number of
    /// holders that died with it: when the dead worker was admitting a suspect item (the marker
    /// holds its SHA-1), only that item is blamed; otherwise every item it held is.
    static let reap = LuaScript(name: "reap", source: """
        local t = redis.call('TIME')
        local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
        local score = redis.call('ZSCORE', KEYS[1], ARGV[1])
        if score and tonumber(score) >= now - tonumber(ARGV[2]) then return -1 end
        local blame = redis.call('GET', KEYS[4])
        local moved = 0
        while true do
          local item = redis.call('LINDEX', KEYS[3], 0)
          if not item then break end
          local count, inner = 0, item
          if string.byte(item, 1) == 33 then
            local space = string.find(item, ' ', 1, true)
            if space then
              count = tonumber(string.sub(item, 2, space - 1)) or 0
              inner = string.sub(item, space + 1)
            end
          end
          if (not blame) or redis.sha1hex(item) == blame then count = count + 1 end
          -- The newest item (head) goes to the taking end first, so the oldest ends up taken next.
          if count > 0 then inner = '!' .. count .. ' ' .. inner end
          redis.call('RPUSH', KEYS[5], inner)
          redis.call('LPOP', KEYS[3])
          moved = moved + 1
        end
        redis.call('ZREM', KEYS[1], ARGV[1])
        redis.call('SREM', KEYS[2], ARGV[1])
        redis.call('DEL', KEYS[4])
        return moved
        """)

    /// KEYS: processing list, queue. ARGV: items. Returns how many went back to the queue.
    ///
    /// Atomic per item: an item the worker's memory does not know (its take reply was lost) goes
    /// back to the taking end of the queue only if it is still in the processing list.
    static let release = LuaScript(name: "release", source: """
        local moved = 0
        for i = 1, #ARGV do
          if redis.call('LPOS', KEYS[1], ARGV[i], 'RANK', -1) then
            redis.call('RPUSH', KEYS[2], ARGV[i])
            redis.call('LREM', KEYS[1], -1, ARGV[i])
            moved = moved + 1
          end
        end
        return moved
        """)

    /// KEYS: processing list, holders. ARGV: worker id, then items. Returns how many items went
    /// back into the processing list.
    ///
    /// Atomic per item with its check, so a retried call (its reply lost) adds nothing twice;
    /// the holder mark makes the list reapable should the worker die before settling.
    static let restore = LuaScript(name: "restore", source: """
        local restored = 0
        for i = 2, #ARGV do
          if not redis.call('LPOS', KEYS[1], ARGV[i]) then
            redis.call('LPUSH', KEYS[1], ARGV[i])
            restored = restored + 1
          end
        end
        if restored > 0 then redis.call('SADD', KEYS[2], ARGV[1]) end
        return restored
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

    /// KEYS: workers, holders, processing list, admitting marker. ARGV: worker id.
    /// Returns 1 when deregistered.
    ///
    /// Atomic with the emptiness check: a worker still holding items stays registered, so
    /// reapers return the items once its lease expires instead of orphaning them.
    static let deregister = LuaScript(name: "deregister", source: """
        if redis.call('LLEN', KEYS[3]) > 0 then return 0 end
        redis.call('ZREM', KEYS[1], ARGV[1])
        redis.call('SREM', KEYS[2], ARGV[1])
        redis.call('DEL', KEYS[4])
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
