/// The scripts of ordered delivery (see docs/ARCHITECTURE.md, "Ordered delivery"). The same
/// rules as `Scripts`: keys in KEYS, Redis's TIME, push before remove.
extension Scripts {
    /// `take`, plus the fan-out into ordered endpoints. KEYS: queue, processing list, workers,
    /// holders, then per ordered endpoint: pending, ready, sequence. ARGV: as `take`, then the
    /// number of ordered endpoints, then per endpoint its key field and its actions
    /// (`,a,b,`, or `*` for all).
    ///
    /// Why at take: the take is the one step that sees events in enqueue order, whichever
    /// worker runs it, so appending each event to its key's list here keeps the enqueue order
    /// across any number of workers; and it is atomic with the move into the processing list,
    /// so a crash neither loses the ordered copy nor makes two. A fanned-out event is tagged
    /// `#<tag>~o`: the worker then sends it only to the unordered endpoints (the ordered ones
    /// have their copy). Used only when ordered endpoints are configured: the unordered path
    /// keeps `take` as it is.
    static let takeOrdered = LuaScript(name: "takeOrdered", source: """
        if not redis.call('ZSCORE', KEYS[3], ARGV[1]) then
          return redis.error_reply('UNREGISTERED this worker is not in the workers set')
        end
        redis.call('SADD', KEYS[4], ARGV[1])
        local t = redis.call('TIME')
        local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
        local routes = {}
        for j = 1, tonumber(ARGV[5]) do
          routes[j] = {field = ARGV[4 + 2 * j], actions = ARGV[5 + 2 * j], k = 2 + 3 * j}
        end
        local max, budget = tonumber(ARGV[2]), tonumber(ARGV[3])
        local oldest = redis.call('LRANGE', KEYS[1], -max, -1)
        local items, total = {}, 0
        for i = 1, #oldest do
          local item = oldest[#oldest - i + 1]
          if i > 1 and total + #item > budget then break end
          total = total + #item
          local first = string.byte(item, 1)
          if first ~= 35 and first ~= 64 and first ~= 33 then
            local ok, doc = pcall(cjson.decode, item)
            if ok and type(doc) == 'table' and type(doc.action) == 'string' then
              local tagged = '#' .. ARGV[4] .. i .. '~o ' .. item
              for _, route in ipairs(routes) do
                if route.actions == '*' or string.find(route.actions, ',' .. doc.action .. ',', 1, true) then
                  local key = doc[route.field]
                  if type(key) ~= 'string' or string.find(key, '\\0', 1, true) then key = '' end
                  local pending, ready = KEYS[route.k], KEYS[route.k + 1]
                  local head = redis.call('ZRANGEBYLEX', pending, '[' .. key .. '\\0', '(' .. key .. '\\1', 'LIMIT', 0, 1)
                  local seq = redis.call('INCR', KEYS[route.k + 2])
                  redis.call('ZADD', pending, 0, key .. '\\0' .. string.format('%016d', seq) .. '\\0' .. tagged)
                  -- An idle key becomes ready; one with a head already is claimed, waiting or ready.
                  if #head == 0 then redis.call('ZADD', ready, now, key) end
                end
              end
              item = tagged
            else
              item = '#' .. ARGV[4] .. i .. ' ' .. item
            end
          end
          items[i] = item
        end
        for i = 1, #items, 1000 do
          redis.call('LPUSH', KEYS[2], unpack(items, i, math.min(i + 999, #items)))
        end
        if #items > 0 then redis.call('LTRIM', KEYS[1], 0, -#items - 1) end
        return items
        """)

    /// KEYS: pending, ready, leases, holders, blocked. ARGV: max keys, lease (ms), token base,
    /// entries per key. Returns {ms until the next key is due or -1, then per claimed key: key,
    /// token, blocked since (ms, 0: not), count, that many entries oldest first}.
    ///
    /// Atomic: a key leaves `ready` and gets its lease in one step, so two workers never hold
    /// one key, and its head is read under that lease. Expired leases (a worker killed, paused
    /// or cut off) go back to `ready` first, their head unchanged: it is sent again, never the
    /// next one, and the old holder's settle no longer matches the token.
    static let orderedClaim = LuaScript(name: "orderedClaim", source: """
        local t = redis.call('TIME')
        local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
        local expired = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', now, 'LIMIT', 0, 1000)
        for _, key in ipairs(expired) do
          redis.call('ZADD', KEYS[2], now, key)
          redis.call('ZREM', KEYS[3], key)
          redis.call('HDEL', KEYS[4], key)
        end
        local keys = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now, 'LIMIT', 0, tonumber(ARGV[1]))
        local out = {-1}
        for i, key in ipairs(keys) do
          redis.call('ZREM', KEYS[2], key)
          local heads = redis.call('ZRANGEBYLEX', KEYS[1], '[' .. key .. '\\0', '(' .. key .. '\\1', 'LIMIT', 0, tonumber(ARGV[4]))
          if #heads > 0 then
            local token = ARGV[3] .. i
            redis.call('ZADD', KEYS[3], now + tonumber(ARGV[2]), key)
            redis.call('HSET', KEYS[4], key, token)
            out[#out + 1] = key
            out[#out + 1] = token
            out[#out + 1] = tonumber(redis.call('ZSCORE', KEYS[5], key) or '0')
            out[#out + 1] = #heads
            for _, head in ipairs(heads) do out[#out + 1] = head end
          else
            redis.call('ZREM', KEYS[5], key)
          end
        end
        local next = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')
        if next[2] then out[1] = math.max(0, tonumber(next[2]) - now) end
        return out
        """)

    /// KEYS: pending, ready, leases, holders, blocked, dead, log. ARGV: max dead letters (0: no
    /// cap), number of claims, the attempt log's cap (0: off) and maximum age in ms (0: none),
    /// then per claim: key, token, failing (`1`/`0`), number of members, number of log records,
    /// then per member: the member, and its outcome: `x` (delivered), `d` entry (dead letter), `r`
    /// delay item (retry), `q` item (handed back); then the records. Returns {written, fenced,
    /// trimmed, log failed (0/1)}; the log is written as `settle` writes it (last, `pcall`).
    ///
    /// Atomic and fenced per claim: the outcomes are written only while the claim's token still
    /// holds the key's lease, in the same step that releases it and readies the key's next head
    /// (or, for a retried head, readies the key at the retry's due time). So a worker whose
    /// lease expired writes nothing, and the next entry of a key becomes claimable only once its
    /// head was delivered or dead-lettered. A key left without entries is forgotten entirely.
    static let orderedSettle = LuaScript(name: "orderedSettle", source: settleHelpers + """
        local t = redis.call('TIME')
        local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
        local pos, written, fenced, dead = 5, 0, 0, 0
        local logCap, logged = tonumber(ARGV[3]), {}
        for _ = 1, tonumber(ARGV[2]) do
          local key, token, failing, count = ARGV[pos], ARGV[pos + 1], ARGV[pos + 2], tonumber(ARGV[pos + 3])
          local records = tonumber(ARGV[pos + 4])
          pos = pos + 5
          local held = redis.call('HGET', KEYS[4], key) == token
          local due = nil
          for _ = 1, count do
            local member, kind = ARGV[pos], ARGV[pos + 1]
            pos = pos + 2
            if kind == 'x' then
              if held then redis.call('ZREM', KEYS[1], member) end
            elseif kind == 'd' then
              if held then
                redis.call('LPUSH', KEYS[6], ARGV[pos])
                redis.call('ZREM', KEYS[1], member)
                dead = dead + 1
              end
              pos = pos + 1
            else
              local delay, item = 0, nil
              if kind == 'r' then delay = tonumber(ARGV[pos]); item = ARGV[pos + 1]; pos = pos + 2
              else item = ARGV[pos]; pos = pos + 1 end
              if held then
                local first = string.find(member, '\\0', 1, true)
                local second = string.find(member, '\\0', first + 1, true)
                local replaced = string.sub(member, 1, second) .. item
                if replaced ~= member then
                  redis.call('ZADD', KEYS[1], 0, replaced)
                  redis.call('ZREM', KEYS[1], member)
                end
                local at = now + math.floor(delay * 1000)
                if not due or at > due then due = at end
              end
            end
          end
          if held then
            redis.call('ZREM', KEYS[3], key)
            redis.call('HDEL', KEYS[4], key)
            if due then
              redis.call('ZADD', KEYS[2], due, key)
              if failing == '1' then redis.call('ZADD', KEYS[5], 'NX', now, key) end
            else
              redis.call('ZREM', KEYS[5], key)
              local head = redis.call('ZRANGEBYLEX', KEYS[1], '[' .. key .. '\\0', '(' .. key .. '\\1', 'LIMIT', 0, 1)
              if #head > 0 then redis.call('ZADD', KEYS[2], now, key) end
            end
            written = written + 1
            if logCap > 0 then
              for i = pos, pos + records - 1 do logged[#logged + 1] = ARGV[i] end
            end
          else
            fenced = fenced + 1
          end
          pos = pos + records
        end
        local trimmed = trimDead(KEYS[6], dead, tonumber(ARGV[1]))
        local logFailed = writeLog(KEYS[7], logged, logCap, tonumber(ARGV[4]), now)
        return {written, fenced, trimmed, logFailed}
        """)

    /// KEYS: ready, leases, blocked, pending. Returns {keys with a head (ready, waiting or
    /// claimed), blocked keys, ms since the oldest blocked head first failed or -1, pending
    /// deliveries}. For metrics and `status`: one call per ordered endpoint.
    static let orderedGauges = LuaScript(name: "orderedGauges", source: """
        local t = redis.call('TIME')
        local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
        local oldest = redis.call('ZRANGE', KEYS[3], 0, 0, 'WITHSCORES')
        local age = -1
        if oldest[2] then age = math.max(0, now - tonumber(oldest[2])) end
        return {redis.call('ZCARD', KEYS[1]) + redis.call('ZCARD', KEYS[2]), redis.call('ZCARD', KEYS[3]), age,
                redis.call('ZCARD', KEYS[4])}
        """)
}
