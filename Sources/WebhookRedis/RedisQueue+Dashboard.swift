import WebhookCore

/// Reads for the dashboard: who is alive, what Redis is, and when a pending retry is due. All
/// read-only, all bounded.
extension RedisQueue {
    /// Registered workers with their heartbeat ages, Redis's role and memory: one pipeline
    /// (TIME, the workers set, INFO replication, INFO memory). A refused INFO leaves its fields
    /// nil rather than failing the reading.
    public func fleetSnapshot(leaseMillis: Int) throws(RedisError) -> FleetSnapshot {
        let commands: [[String]] = [["TIME"], ["ZRANGE", keys.workers, "0", "-1", "WITHSCORES"],
                                    ["INFO", "replication"], ["INFO", "memory"]]
        let replies = try withConnection { connection throws(RedisError) in
            try connection.pipeline(commands.map { $0.map { Array($0.utf8) } })
        }
        guard replies.count == 4, let nowMillis = Self.millis(ofTime: replies[0]),
              let pairs = replies[1].array, pairs.count % 2 == 0
        else { throw unexpected("TIME/ZRANGE/INFO", replies.first ?? .null) }
        var workers: [FleetSnapshot.Worker] = []
        for index in stride(from: 0, to: pairs.count, by: 2) {
            guard let member = pairs[index].text, let score = pairs[index + 1].text.flatMap(Double.init) else { continue }
            workers.append(.init(id: member, heartbeatAge: max(0, (nowMillis - score) / 1000),
                                 isLive: score >= nowMillis - Double(leaseMillis)))
        }
        workers.sort { $0.heartbeatAge < $1.heartbeatAge }
        var snapshot = FleetSnapshot(workers: workers, role: nil, usedMemory: nil, maxMemory: nil, now: nowMillis / 1000)
        for reply in replies[2...3] {
            guard let info = reply.text else { continue }
            for line in info.split(whereSeparator: \.isNewline) {
                let parts = line.split(separator: ":", maxSplits: 1)
                guard parts.count == 2 else { continue }
                switch parts[0] {
                case "role": snapshot.role = String(parts[1])
                case "used_memory": snapshot.usedMemory = Int(parts[1])
                case "maxmemory": snapshot.maxMemory = Int(parts[1])
                default: break
                }
            }
        }
        return snapshot
    }

    /// Redis's clock, Unix seconds (one `TIME`): what the dashboard measures ages against.
    public func serverTime() throws(RedisError) -> Double {
        let reply = try command("TIME")
        guard let millis = Self.millis(ofTime: reply) else { throw unexpected("TIME", reply) }
        return millis / 1000
    }

    /// A `TIME` reply in milliseconds; nil when it is not one.
    static func millis(ofTime reply: RedisReply) -> Double? {
        guard let time = reply.array, time.count == 2,
              let seconds = time[0].text.flatMap(Int.init), let micros = time[1].text.flatMap(Int.init) else { return nil }
        return Double(seconds * 1000 + micros / 1000)
    }

    /// The deliveries of `webhookID` waiting in the delayed set, with when each is due (Unix
    /// seconds, Redis's clock): for the event timeline's "next try". Items that do not verify
    /// under `authenticator` are left out (a producer cannot write a delivery).
    ///
    /// `ZSCAN` with a pattern, so the server does the matching; at most `scanLimit` members are
    /// looked at, which bounds the cost on a large backlog (the answer may then miss one).
    public func pendingDeliveries(webhookID: String, authenticator: ItemAuthenticator,
                                  scanLimit: Int = 200_000) throws(RedisError) -> [(delivery: Delivery, due: Double)] {
        var escaped = ""
        for character in webhookID {
            if "*?[]\\^".contains(character) { escaped.append("\\") }
            escaped.append(character)
        }
        let pattern = "*@* \(escaped) *"
        var cursor = "0", looked = 0
        var found: [(delivery: Delivery, due: Double)] = []
        repeat {
            let reply = try withConnection { connection throws(RedisError) in
                try connection.command(["ZSCAN", keys.delayed, cursor, "MATCH", pattern, "COUNT", "1000"].map { Array($0.utf8) })
            }
            guard let parts = reply.array, parts.count == 2, let next = parts[0].text, let members = parts[1].array else {
                throw unexpected("ZSCAN", reply)
            }
            for index in stride(from: 0, to: members.count - 1, by: 2) {
                guard let bytes = members[index].bytes, let due = members[index + 1].text.flatMap(Double.init) else { continue }
                if case .delivery(let delivery) = QueueItem.parse(bytes, authenticator: authenticator).item,
                   delivery.webhookID == webhookID {
                    found.append((delivery, due))
                }
            }
            cursor = next
            looked += 1000
        } while cursor != "0" && looked < scanLimit
        return found.sorted { $0.due < $1.due }
    }
}
