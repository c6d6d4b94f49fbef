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
                let endpoint = letter.endpoint.map { "\(letter.kind == "discord" ? "discord " : "")\(URLRedaction.redact($0))" } ?? "-"
                print("[\(index)] \(letter.id.isEmpty ? "-" : letter.id)  \(when)  \(endpoint)  attempts=\(letter.attempts)  \(letter.reason)")
                print("      \(String(decoding: letter.payload.prefix(300), as: UTF8.self))")
            }
        }
    }

    struct Replay: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Send dead letters back to the queue for their endpoint, with tries reset and the same webhook-id.")
        @OptionGroup var options: ConfigOptions
        @Argument(help: "Ids of the dead letters to replay (the first column of `dead list`).") var ids: [String] = []
        @Option(help: "Replay the entry at this position of `dead list` (positions shift while workers add dead letters; prefer ids).")
        var index: Int?
        @Flag(help: "Replay every dead letter.") var all = false

        func validate() throws {
            let chosen = (ids.isEmpty ? 0 : 1) + (index == nil ? 0 : 1) + (all ? 1 : 0)
            if chosen != 1 { throw ValidationError("give dead-letter ids, --index N or --all") }
            if let index, index < 0 { throw ValidationError("the index must be 0 or more") }
        }

        func run() throws {
            let configuration = try options.load()
            let queue = RedisQueue(url: configuration.redis, prefix: configuration.keyPrefix, workerID: "cli")
            let authenticator = ItemAuthenticator(keyMaterial: configuration.itemKeyMaterial)
            let entries = try queue.deadList(limit: index.map { $0 + 1 } ?? Int.max)
            var chosen: [[UInt8]]
            if let index {
                guard index < entries.count else { throw ValidationError("no dead letter at index \(index)") }
                chosen = [entries[index]]
            } else if all {
                chosen = entries
            } else {
                let wanted = Set(ids)
                chosen = entries.filter { entry in (try? DeadLetter(decoding: entry)).map { wanted.contains($0.id) } ?? false }
                let found = Set(chosen.compactMap { try? DeadLetter(decoding: $0).id })
                let missing = ids.filter { !found.contains($0) }
                if !missing.isEmpty { throw ValidationError("no dead letter with id \(missing.joined(separator: ", "))") }
            }
            let configured = Set(configuration.targets.map(\.id))
            var replayed = 0, skipped = 0, unconfigured = 0
            for entry in chosen {
                guard let letter = try? DeadLetter(decoding: entry), let targetID = letter.targetID, letter.truncated == nil else {
                    skipped += 1   // malformed or oversize input has no endpoint: replaying cannot fix it
                    continue
                }
                if !configured.contains(targetID) { unconfigured += 1 }
                let id = letter.webhookID ?? "msg_replay_\(RandomToken.make(16))_\(targetID)"
                let item = QueueItem.encode(Delivery(webhookID: id, tries: 0, targetID: targetID, raw: letter.payload[...]),
                                            authenticator: authenticator)
                if try queue.deadReplace(entry: entry, with: item) { replayed += 1 }
            }
            var summary = "replayed \(replayed)"
            if skipped > 0 { summary += ", skipped \(skipped) without an endpoint (malformed or oversize input)" }
            if unconfigured > 0 { summary += "; \(unconfigured) name an endpoint this configuration does not have" }
            print(summary)
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
