import WebhookCore
import WebhookQueue

/// Ordered delivery's calls (see docs/ARCHITECTURE.md, "Ordered delivery"; scripts in
/// `OrderedScripts.swift`).
extension RedisQueue {
    func orderedKeys(_ targetID: String) -> OrderedKeys { OrderedKeys(prefix: keys.prefix, targetID: targetID) }

    /// `take` with the fan-out into the ordered endpoints (`Scripts.takeOrdered`).
    func takeOrdered(max: Int, maxBytes: Int) throws(RedisError) -> [[UInt8]] {
        var scriptKeys = [keys.queue, processingKey, keys.workers, keys.holders]
        var args: [[UInt8]] = [Array(workerID.utf8), Array(String(max).utf8), Array(String(Swift.max(1, maxBytes)).utf8),
                               Array((RandomToken.make(16) + "-").utf8), Array(String(orderedRoutes.count).utf8)]
        for route in orderedRoutes {
            let ordered = orderedKeys(route.targetID)
            scriptKeys += [ordered.pending, ordered.ready, ordered.sequence]
            args.append(Array(route.keyField.utf8))
            args.append(Array((route.actions.map { "," + $0.sorted().joined(separator: ",") + "," } ?? "*").utf8))
        }
        let reply = try run(Scripts.takeOrdered, keys: scriptKeys, args: args)
        guard let elements = reply.array else { throw unexpected("EVALSHA(takeOrdered)", reply) }
        return elements.map { $0.bytes ?? [] }
    }

    public func claimOrdered(_ route: OrderedRoute, max: Int, leaseMillis: Int) throws(RedisError) -> (claims: [OrderedClaim], nextDueIn: Double?) {
        guard max > 0 else { return ([], nil) }
        let ordered = orderedKeys(route.targetID)
        let reply = try run(Scripts.orderedClaim, keys: [ordered.pending, ordered.ready, ordered.leases, ordered.holders, ordered.blocked],
                            args: [Array(String(max).utf8), Array(String(leaseMillis).utf8),
                                   Array((RandomToken.make(16) + "-").utf8), Array(String(Swift.max(1, route.batch)).utf8)])
        guard let parts = reply.array, let wait = parts.first?.integer else { throw unexpected("EVALSHA(orderedClaim)", reply) }
        var claims: [OrderedClaim] = []
        var index = 1
        while index + 3 < parts.count {
            guard let key = parts[index].bytes, let token = parts[index + 1].bytes, let since = parts[index + 2].integer,
                  let count = parts[index + 3].integer, index + 4 + count <= parts.count
            else { throw unexpected("EVALSHA(orderedClaim)", reply) }
            let members = parts[(index + 4)..<(index + 4 + count)].map { $0.bytes ?? [] }
            claims.append(OrderedClaim(targetID: route.targetID, key: String(decoding: key, as: UTF8.self),
                                       token: String(decoding: token, as: UTF8.self), blockedSince: Double(since) / 1000,
                                       members: members))
            index += 4 + count
        }
        return (claims, wait < 0 ? nil : Double(wait) / 1000)
    }

    public func settleOrdered(_ settlements: [OrderedSettlement], deadMax: Int) throws(RedisError) -> SettleResult {
        var total = SettleResult(written: 0, fenced: 0, trimmed: 0)
        let logMax = attemptLog.maxRecords
        // One call per endpoint: each has its own keys.
        var byTarget: [String: [OrderedSettlement]] = [:]
        var order: [String] = []
        for settlement in settlements {
            if byTarget[settlement.claim.targetID] == nil { order.append(settlement.claim.targetID) }
            byTarget[settlement.claim.targetID, default: []].append(settlement)
        }
        for targetID in order {
            let group = byTarget[targetID] ?? []
            let ordered = orderedKeys(targetID)
            var args: [[UInt8]] = [Array(String(deadMax).utf8), Array(String(group.count).utf8),
                                   Array(String(logMax).utf8), Array(String(attemptLog.maxAgeMillis).utf8)]
            for settlement in group {
                let claim = settlement.claim
                args += [Array(claim.key.utf8), Array(claim.token.utf8), settlement.failing ? [UInt8(ascii: "1")] : [UInt8(ascii: "0")],
                         Array(String(claim.members.count).utf8), Array(String(logMax > 0 ? settlement.log.count : 0).utf8)]
                for (member, outcome) in zip(claim.members, settlement.outcomes) {
                    args.append(member)
                    switch outcome {
                    case nil:
                        args.append([UInt8(ascii: "x")])
                    case .dead(let entry)?:
                        args.append([UInt8(ascii: "d")])
                        args.append(entry)
                    case .retry(let after, let item)?:
                        args.append([UInt8(ascii: "r")])
                        args.append(Array(Self.score(Swift.max(0, after)).utf8))
                        args.append(item)
                    case .requeue(let item)?:
                        args.append([UInt8(ascii: "q")])
                        args.append(item)
                    }
                }
                if logMax > 0 { args += settlement.log }
            }
            let reply = try run(Scripts.orderedSettle,
                                keys: [ordered.pending, ordered.ready, ordered.leases, ordered.holders, ordered.blocked, keys.dead,
                                       keys.log],
                                args: args)
            guard let parts = reply.array, parts.count == 4,
                  let written = parts[0].integer, let fenced = parts[1].integer, let trimmed = parts[2].integer,
                  let logFailed = parts[3].integer
            else { throw unexpected("EVALSHA(orderedSettle)", reply) }
            total.written += written
            total.fenced += fenced
            total.trimmed += trimmed
            if logFailed != 0 { total.logFailed = true }
        }
        return total
    }

    /// One ordered endpoint's state, for metrics, `status` and `endpoints`.
    public struct OrderedGauge: Sendable, Equatable {
        /// Keys with at least one pending delivery (ready, waiting for a retry, or claimed).
        public var activeKeys: Int
        /// Keys whose head has failed and holds the rest back.
        public var blockedKeys: Int
        /// Seconds since the oldest blocked head first failed; nil when none is blocked.
        public var oldestBlockedAge: Double?
        /// Deliveries pending in all keys.
        public var pending: Int
    }

    /// One ordered endpoint's gauges (`Scripts.orderedGauges`); reads only, any worker or CLI.
    public func orderedGauge(targetID: String) throws(RedisError) -> OrderedGauge {
        let ordered = orderedKeys(targetID)
        let reply = try run(Scripts.orderedGauges, keys: [ordered.ready, ordered.leases, ordered.blocked, ordered.pending],
                            args: [], pinned: false)
        guard let parts = reply.array, parts.count == 4, let active = parts[0].integer, let blocked = parts[1].integer,
              let age = parts[2].integer, let pending = parts[3].integer
        else { throw unexpected("EVALSHA(orderedGauges)", reply) }
        return OrderedGauge(activeKeys: active, blockedKeys: blocked, oldestBlockedAge: age < 0 ? nil : Double(age) / 1000,
                            pending: pending)
    }
}

extension RedisQueue {
    /// Replicas connected to the server (`connected_slaves` of INFO replication); 0 when it
    /// will not say.
    public func connectedReplicas() throws(RedisError) -> Int {
        let reply = try command("INFO", "replication")
        guard let text = reply.text else { return 0 }
        for line in text.split(whereSeparator: \.isNewline) where line.hasPrefix("connected_slaves:") {
            return Int(line.dropFirst("connected_slaves:".count).trimmingCharacters(in: .whitespaces)) ?? 0
        }
        return 0
    }

    /// `WAIT count timeout`: blocks until `count` replicas acknowledged every write this
    /// connection made so far, or the timeout passes. Returns how many did.
    public func waitForReplicas(_ count: Int, timeoutMillis: Int) throws(RedisError) -> Int {
        let reply = try withConnection { connection throws(RedisError) in
            connection.setReadTimeout(Double(timeoutMillis) / 1000 + 5)
            defer { connection.setReadTimeout(nil) }
            return try connection.command("WAIT", String(count), String(timeoutMillis))
        }
        if case .error(let message) = reply { throw RedisError(call: "WAIT", message: message, isConnectionError: false) }
        guard let acknowledged = reply.integer else { throw unexpected("WAIT", reply) }
        return acknowledged
    }
}
