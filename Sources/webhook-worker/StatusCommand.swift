import ArgumentParser
import WebhookCore
import WebhookRedis

struct StatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show the depths of the queue, delayed set, in-flight and dead letters, and the live workers.")

    @OptionGroup var options: ConfigOptions

    @Flag(help: "Print one JSON object.")
    var json = false

    func run() throws {
        let configuration = try options.load()
        let queue = RedisQueue(url: configuration.redis.url, prefix: configuration.redis.keyPrefix, workerID: "cli")
        let depths = try queue.depths(leaseMillis: Int(configuration.worker.lease * 1000))
        // Ordered endpoints: keys blocked behind a failing head, and the oldest such head.
        let ordered = try configuration.targets.filter { $0.spec?.ordering != nil }.map { target in
            (target, try queue.orderedGauge(targetID: target.id))
        }
        if json {
            print(String(decoding: Self.json(depths, ordered: ordered), as: UTF8.self))
            return
        }
        print("queue      \(depths.queue)")
        print("delayed    \(depths.delayed)")
        print("in flight  \(depths.processing)")
        print("dead       \(depths.dead)")
        print("workers    \(depths.workers.count)")
        for worker in depths.workers { print("  \(worker)") }
        for (target, gauge) in ordered { print("ordered '\(target.name)': \(gauge.summary)") }
    }

    /// One JSON object, keys sorted: `dead`, `delayed`, `in_flight`, `ordered` (by endpoint name,
    /// only when some endpoint is ordered; the first of two endpoints with one name), `queue`,
    /// `workers`.
    static func json(_ depths: QueueDepths, ordered: [(Target, RedisQueue.OrderedGauge)]) -> [UInt8] {
        var out: [UInt8] = []
        func key(_ name: String) {
            JSONWriter.appendString(name, to: &out)
            out.append(UInt8(ascii: ":"))
        }
        func int(_ name: String, _ value: Int, last: Bool = false) {
            key(name)
            JSONWriter.appendInt(value, to: &out)
            if !last { out.append(UInt8(ascii: ",")) }
        }
        out.append(UInt8(ascii: "{"))
        int("dead", depths.dead)
        int("delayed", depths.delayed)
        int("in_flight", depths.processing)
        if !ordered.isEmpty {
            var gauges: [String: RedisQueue.OrderedGauge] = [:]
            for (target, gauge) in ordered where gauges[target.name] == nil { gauges[target.name] = gauge }
            key("ordered")
            out.append(UInt8(ascii: "{"))
            for (index, name) in gauges.keys.sorted().enumerated() {
                let gauge = gauges[name]!
                if index > 0 { out.append(UInt8(ascii: ",")) }
                key(name)
                out.append(UInt8(ascii: "{"))
                int("active_keys", gauge.activeKeys)
                int("blocked_keys", gauge.blockedKeys)
                key("oldest_blocked_seconds")
                JSONWriter.appendNumber(gauge.oldestBlockedAge ?? 0, to: &out)
                out.append(UInt8(ascii: ","))
                int("pending", gauge.pending, last: true)
                out.append(UInt8(ascii: "}"))
            }
            out.append(contentsOf: "},".utf8)
        }
        int("queue", depths.queue)
        key("workers")
        out.append(UInt8(ascii: "["))
        for (index, worker) in depths.workers.enumerated() {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            JSONWriter.appendString(worker, to: &out)
        }
        out.append(contentsOf: "]}".utf8)
        return out
    }
}
