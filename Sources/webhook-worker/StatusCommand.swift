import ArgumentParser
import Foundation
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
            var object: [String: Any] = [
                "queue": depths.queue, "delayed": depths.delayed, "in_flight": depths.processing,
                "dead": depths.dead, "workers": depths.workers,
            ]
            if !ordered.isEmpty {
                object["ordered"] = Dictionary(ordered.map { target, gauge in
                    (target.name, ["blocked_keys": gauge.blockedKeys, "oldest_blocked_seconds": gauge.oldestBlockedAge ?? 0,
                                   "active_keys": gauge.activeKeys, "pending": gauge.pending] as [String: Any])
                }, uniquingKeysWith: { first, _ in first })
            }
            let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
            print(String(decoding: data, as: UTF8.self))
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
}
