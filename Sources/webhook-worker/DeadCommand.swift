import ArgumentParser
import Foundation
import WebhookCore
import WebhookRedis

struct DeadCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dead",
        abstract: "List, replay and purge dead letters.",
        subcommands: [List.self, Replay.self, Purge.self])

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List dead letters, newest first.")
        @OptionGroup var options: ConfigOptions
        @Option(help: "At most this many.") var limit: Int = 20
        @Flag(help: "Print each dead letter as its stored JSON, one per line.") var json = false

        func run() throws {
            let configuration = try options.load()
            let queue = RedisQueue(url: configuration.redis, prefix: configuration.keyPrefix, workerID: "cli")
            for (index, entry) in try queue.deadList(limit: limit).enumerated() {
                if json {
                    print(String(decoding: entry, as: UTF8.self))
                    continue
                }
                guard let letter = try? DeadLetter(decoding: entry) else {
                    print("[\(index)] unreadable entry: \(String(decoding: entry.prefix(200), as: UTF8.self))")
                    continue
                }
                let when = ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: letter.failedAt))
                let endpoint = letter.target.map { "\($0.kind == .discord ? "discord " : "")\($0.url)" } ?? "-"
                print("[\(index)] \(when)  \(endpoint)  attempts=\(letter.attempts)  \(letter.reason)")
                print("      \(String(decoding: letter.payload.prefix(300), as: UTF8.self))")
            }
        }
    }

    struct Replay: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Send dead letters back to the queue for their endpoint, with tries reset.")
        @OptionGroup var options: ConfigOptions
        @Argument(help: "Replay only the entry at this index of `dead list` (default: all).") var position: Int?
        @Option(help: "Same as the positional index.") var index: Int?
        @Flag(help: "Replay every dead letter (the default without an index).") var all = false

        func validate() throws {
            if all && (position ?? index) != nil { throw ValidationError("give an index or --all, not both") }
            if let chosen = position ?? index, chosen < 0 { throw ValidationError("the index must be 0 or more") }
        }

        func run() throws {
            let configuration = try options.load()
            let queue = RedisQueue(url: configuration.redis, prefix: configuration.keyPrefix, workerID: "cli")
            let one = position ?? index
            let entries = try queue.deadList(limit: one.map { $0 + 1 } ?? Int.max)
            let chosen = one.map { $0 < entries.count ? [entries[$0]] : [] } ?? entries
            if let one, chosen.isEmpty { throw ValidationError("no dead letter at index \(one)") }
            var replayed = 0, skipped = 0
            for entry in chosen {
                guard let letter = try? DeadLetter(decoding: entry), let target = letter.target else {
                    skipped += 1   // malformed input has no endpoint: replaying cannot fix it
                    continue
                }
                let id = letter.webhookID ?? "msg_replay_\(UInt64.random(in: 0...UInt64.max))"
                let item = QueueItem.delivery(Delivery(webhookID: id, tries: 0, target: target, raw: letter.payload))
                if try queue.deadReplace(entry: entry, with: item.encoded()) { replayed += 1 }
            }
            print("replayed \(replayed)" + (skipped > 0 ? ", skipped \(skipped) malformed (no endpoint)" : ""))
        }
    }

    struct Purge: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete every dead letter.")
        @OptionGroup var options: ConfigOptions

        func run() throws {
            let configuration = try options.load()
            let queue = RedisQueue(url: configuration.redis, prefix: configuration.keyPrefix, workerID: "cli")
            print("purged \(try queue.deadPurge())")
        }
    }
}
