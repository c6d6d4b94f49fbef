import WebhookCore

/// What the monitoring gauges need beyond ``QueueDepths``: how old the next item to take is, and
/// how much memory Redis uses. Read every few seconds by the health probe.
public struct FleetReadings: Sendable, Equatable {
    /// Seconds since the `enqueued_at` of the queue's tail item, on Redis's clock; nil when the
    /// queue is empty or the item has no `enqueued_at`.
    public var oldestAge: Double?
    /// INFO memory's `used_memory`; nil when INFO is refused (an ACL, a renamed command).
    public var usedMemory: Int?
    /// INFO memory's `maxmemory` (0: no limit); nil when INFO is refused.
    public var maxMemory: Int?

    public init(oldestAge: Double?, usedMemory: Int?, maxMemory: Int?) {
        self.oldestAge = oldestAge
        self.usedMemory = usedMemory
        self.maxMemory = maxMemory
    }
}

extension RedisQueue {
    /// One pipeline: the queue's tail item, Redis's `TIME`, and `INFO memory`. A refused INFO
    /// leaves the memory fields nil rather than failing the reading.
    public func fleetReadings() throws(RedisError) -> FleetReadings {
        let commands: [[String]] = [["LINDEX", keys.queue, "-1"], ["TIME"], ["INFO", "memory"]]
        let replies = try withConnection { connection throws(RedisError) in
            try connection.pipeline(commands.map { $0.map { Array($0.utf8) } })
        }
        guard replies.count == 3 else { throw unexpected("LINDEX/TIME/INFO", .array(replies)) }
        var readings = FleetReadings(oldestAge: nil, usedMemory: nil, maxMemory: nil)
        if let item = replies[0].bytes, let enqueuedAt = QueueItem.enqueuedAt(item),
           let time = replies[1].array, time.count == 2,
           let seconds = time[0].text.flatMap(Double.init), let micros = time[1].text.flatMap(Double.init) {
            readings.oldestAge = max(0, seconds + micros / 1e6 - enqueuedAt)
        }
        if let info = replies[2].text {
            for line in info.split(whereSeparator: \.isNewline) {
                let parts = line.split(separator: ":", maxSplits: 1)
                guard parts.count == 2 else { continue }
                switch parts[0] {
                case "used_memory": readings.usedMemory = Int(parts[1])
                case "maxmemory": readings.maxMemory = Int(parts[1])
                default: break
                }
            }
        }
        return readings
    }
}
