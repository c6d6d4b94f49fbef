/// The Lua scripts of per-endpoint state: the fleet-wide rate limit and the circuit breaker.
/// Every time comes from Redis (`TIME`), so workers with skewed clocks agree; scripts that call
/// `TIME` and then write are fine with effects replication, the default since Redis 5 (we need
/// 6.2+). Every key is passed in KEYS.
enum EndpointScripts {
    /// KEYS: rate key. ARGV: emission interval T (µs), the longest hold (µs), then for each
    /// request to place: since when it has been held (µs of Redis time; 0 = not yet).
    /// Returns `{now, d1, d2, ...}` in µs: `now` is Redis's clock; `dᵢ >= 0` reserves request i
    /// the slot `now + dᵢ`; `dᵢ < 0` reserves nothing, because waiting `-dᵢ` for the next slot
    /// would hold request i past the longest hold.
    ///
    /// GCRA with no burst tolerance, reserving instead of refusing: the theoretical arrival time
    /// (TAT) is the next free slot; each request takes the slot max(TAT, now) and moves the TAT
    /// on by T. So slots are at least T apart across the whole fleet and any window of one
    /// period holds at most N of them, and a request behind the limit is answered once, with its
    /// slot, instead of asking again and again. Atomic: reading the TAT and moving it on is one
    /// step, or two workers could take the same slot. One call places a whole batch.
    static let reserve = LuaScript(name: "rate_reserve", source: """
        local time = redis.call('TIME')
        local now = tonumber(time[1]) * 1000000 + tonumber(time[2])
        local interval, maxHold = tonumber(ARGV[1]), tonumber(ARGV[2])
        local start = tonumber(redis.call('GET', KEYS[1]) or '0') or 0
        local tat = start
        local out = {now}
        for i = 3, #ARGV do
          local since = tonumber(ARGV[i]) or 0
          if since <= 0 or since > now then since = now end
          local slot = math.max(tat, now)
          if slot - since > maxHold then
            out[#out + 1] = -math.max(1, slot - now)
          else
            out[#out + 1] = slot - now
            tat = slot + interval
          end
        end
        if tat ~= start then
          redis.call('SET', KEYS[1], string.format('%.0f', tat), 'PX', math.ceil((tat - now) / 1000) + 1000)
        end
        return out
        """)

    /// KEYS: breaker, stats, probe. ARGV: successes, failures, failures since the last success
    /// (or all of them when there was none), threshold, last error (may be empty), probe
    /// interval in milliseconds.
    /// Returns `{transition, consecutive failures, opened_at ms or 0}`, transition being
    /// `opened`, `closed` or ``.
    ///
    /// Atomic: the consecutive count, the open/closed decision and the probe slot change
    /// together, so of many workers reporting at once exactly one sees the transition (and
    /// logs, counts and announces it).
    static let record = LuaScript(name: "breaker_record", source: """
        local time = redis.call('TIME')
        local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
        local minute = math.floor(tonumber(time[1]) / 60)
        local successes, failures = tonumber(ARGV[1]), tonumber(ARGV[2])
        local trailing, threshold = tonumber(ARGV[3]), tonumber(ARGV[4])
        if successes > 0 then redis.call('HINCRBY', KEYS[2], 's:' .. minute, successes) end
        if failures > 0 then redis.call('HINCRBY', KEYS[2], 'f:' .. minute, failures) end
        if redis.call('HLEN', KEYS[2]) > 130 then
          for _, field in ipairs(redis.call('HKEYS', KEYS[2])) do
            local at = tonumber(string.sub(field, 3))
            if at == nil or at <= minute - 60 then redis.call('HDEL', KEYS[2], field) end
          end
        end
        redis.call('EXPIRE', KEYS[2], 3900)

        local count
        if successes > 0 then
          count = trailing
          redis.call('HSET', KEYS[1], 'last_success_at', now)
        else
          count = (tonumber(redis.call('HGET', KEYS[1], 'failures')) or 0) + trailing
        end
        redis.call('HSET', KEYS[1], 'failures', count)
        if failures > 0 and ARGV[5] ~= '' then
          redis.call('HSET', KEYS[1], 'last_error', ARGV[5], 'last_error_at', now)
        end

        local opened = tonumber(redis.call('HGET', KEYS[1], 'opened_at'))
        if opened and successes > 0 and count < threshold then
          redis.call('HDEL', KEYS[1], 'opened_at')
          redis.call('DEL', KEYS[3])
          return {'closed', count, 0}
        end
        if not opened and count >= threshold then
          redis.call('HSET', KEYS[1], 'opened_at', now)
          -- The first probe comes one interval after opening, not at once.
          redis.call('SET', KEYS[3], 'opened', 'PX', ARGV[6])
          return {'opened', count, now}
        end
        return {'', count, opened or 0}
        """)

    /// KEYS: breaker, probe. ARGV: probe interval in milliseconds, the caller's token.
    /// Returns `{'closed', 0, now}`, `{'paused', 0, now}`, `{'probe', 0, now}` (the caller sends
    /// one probe) or `{'hold', ms until the next probe slot, now}`; `now` is Redis's clock in
    /// ms, so callers learn it (the hold clocks of deliveries run on it).
    ///
    /// Atomic with SET NX PX: of all workers asking during one interval exactly one gets the
    /// probe slot.
    static let gate = LuaScript(name: "breaker_gate", source: """
        local time = redis.call('TIME')
        local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
        local state = redis.call('HMGET', KEYS[1], 'opened_at', 'paused')
        if state[2] then return {'paused', 0, now} end
        if not state[1] then return {'closed', 0, now} end
        if redis.call('SET', KEYS[2], ARGV[2], 'NX', 'PX', ARGV[1]) then return {'probe', 0, now} end
        local left = redis.call('PTTL', KEYS[2])
        if left < 0 then left = tonumber(ARGV[1]) end
        return {'hold', left, now}
        """)

    /// KEYS: breaker. ARGV: `1` to pause, `0` to resume. Returns 1 when the flag changed.
    /// A script only to stamp `paused_at` with Redis' clock.
    static let pause = LuaScript(name: "breaker_pause", source: """
        if ARGV[1] == '1' then
          if redis.call('HSETNX', KEYS[1], 'paused', '1') == 0 then return 0 end
          local time = redis.call('TIME')
          redis.call('HSET', KEYS[1], 'paused_at', tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000))
          return 1
        end
        return redis.call('HDEL', KEYS[1], 'paused', 'paused_at') > 0 and 1 or 0
        """)

    /// KEYS: breaker, stats. Returns `{breaker fields as HGETALL, successes, failures, now ms}`,
    /// the counts over the last 60 minutes of Redis time.
    static let status = LuaScript(name: "breaker_status", source: """
        local time = redis.call('TIME')
        local minute = math.floor(tonumber(time[1]) / 60)
        local successes, failures = 0, 0
        local stats = redis.call('HGETALL', KEYS[2])
        for i = 1, #stats, 2 do
          local at = tonumber(string.sub(stats[i], 3))
          if at and at > minute - 60 then
            if string.sub(stats[i], 1, 1) == 's' then
              successes = successes + tonumber(stats[i + 1])
            else
              failures = failures + tonumber(stats[i + 1])
            end
          end
        end
        local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
        return {redis.call('HGETALL', KEYS[1]), successes, failures, now}
        """)
}
