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
        if json {
            let object: [String: Any] = [
                "queue": depths.queue, "delayed": depths.delayed, "in_flight": depths.processing,
                "dead": depths.dead, "workers": depths.workers,
            ]
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
    }
}
