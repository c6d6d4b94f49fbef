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
            let queue = RedisQueue(url: configuration.redis.url, prefix: configuration.redis.keyPrefix, workerID: "cli")
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
                let url = letter.endpoint.map { URLRedaction.redact($0) }
                let endpoint = letter.endpointName.map { name in url.map { "\(name) (\($0))" } ?? name } ?? url ?? "-"
                print("[\(index)] \(letter.id.isEmpty ? "-" : letter.id)  \(when)  \(endpoint)  attempts=\(letter.attempts)  \(letter.reason)")
                print("      \(String(decoding: letter.payload.prefix(300), as: UTF8.self))")
            }
        }
    }

    struct Replay: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Send dead letters back to the queue for their endpoint, with tries reset and the same webhook-id.")
        @OptionGroup var options: ConfigOptions
        @Argument(help: ArgumentHelp("Ids of the dead letters to replay (the first column of `dead list`); none: all.",
                                     discussion: "A number instead of an id is a position in `dead list` (positions shift while workers add dead letters; prefer ids)."))
        var ids: [String] = []
        @Option(help: "Replay the entry at this position of `dead list` (as a number argument).") var index: Int?
        @Flag(help: "Replay every dead letter (the default without ids).") var all = false
        @Option(help: "Replay only the dead letters of this endpoint (its name in `endpoints` and `dead list`).")
        var endpoint: String?
        @Option(help: ArgumentHelp("Send the chosen dead letters to this configured endpoint instead of their own (by name).",
                                   discussion: "For dead letters of an endpoint that was removed or renamed, or that name none (written by earlier releases)."))
        var to: String?

        func validate() throws {
            if all && (!ids.isEmpty || index != nil) { throw ValidationError("give ids, --index N or --all, not several") }
            if let index, index < 0 { throw ValidationError("the index must be 0 or more") }
        }

        func run() throws {
            let configuration = try options.load()
            let queue = RedisQueue(url: configuration.redis.url, prefix: configuration.redis.keyPrefix, workerID: "cli")
            let authenticator = ItemAuthenticator(keyMaterial: configuration.worker.itemKeyMaterial)
            let directory = TargetDirectory(targets: configuration.targets, authenticator: authenticator)
            var destination: Target?
            if let to {
                guard let target = directory.target(named: to) else {
                    let known = directory.targets.map(\.name).joined(separator: ", ")
                    throw ValidationError("--to: no endpoint is named '\(to)' in this configuration; known: \(known.isEmpty ? "none" : known)")
                }
                destination = target
            }
            let positions = (index.map { [$0] } ?? []) + ids.compactMap { Int($0) }
            let wanted = Set(ids.filter { Int($0) == nil })
            let selective = !positions.isEmpty || !wanted.isEmpty
            let entries = try queue.deadList(limit: Int.max)
            var chosen: [[UInt8]] = []
            for position in positions {
                guard position >= 0, position < entries.count else { throw ValidationError("no dead letter at index \(position)") }
                chosen.append(entries[position])
            }
            if !wanted.isEmpty {
                var found: Set<String> = []
                for entry in entries {
                    guard let id = try? DeadLetter(decoding: entry).id, wanted.contains(id) else { continue }
                    chosen.append(entry)
                    found.insert(id)
                }
                let missing = wanted.subtracting(found).sorted()
                if !missing.isEmpty { throw ValidationError("no dead letter with id \(missing.joined(separator: ", "))") }
            }
            if !selective { chosen = entries }
            if let endpoint {
                chosen = chosen.filter { (try? DeadLetter(decoding: $0))?.endpointName == endpoint }
            }
            var replayed = 0, skipped = 0, withoutEndpoint = 0, unconfigured = 0, outOfOrder = 0
            for entry in chosen {
                switch DeadLetterReplay.plan(entry, directory: directory, authenticator: authenticator, destination: destination) {
                case .undeliverable: skipped += 1
                case .noEndpoint: withoutEndpoint += 1   // earlier releases wrote some without: --to names one
                case .replay(let item, let isUnconfigured):
                    if isUnconfigured { unconfigured += 1 }
                    if try queue.deadReplace(entry: entry, with: item) {
                        replayed += 1
                        if (try? DeadLetter(decoding: entry))?.reason.hasPrefix(OrderingSpec.skippedAhead) == true { outOfOrder += 1 }
                    }
                }
            }
            var summary = "replayed \(replayed)"
            if destination != nil { summary += " to '\(destination!.name)'" }
            if skipped > 0 { summary += ", skipped \(skipped) that cannot be delivered (malformed or oversize input)" }
            if withoutEndpoint > 0 { summary += ", skipped \(withoutEndpoint) that name no endpoint (give --to NAME)" }
            if outOfOrder > 0 {
                summary += "; \(outOfOrder) skipped ahead of their key's later events (ordered endpoints) and arrive out of order"
            }
            if unconfigured > 0 { summary += "; \(unconfigured) name an endpoint this configuration does not have (give --to NAME)" }
            print(summary)
        }
    }

    struct Purge: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete every dead letter.")
        @OptionGroup var options: ConfigOptions

        func run() throws {
            let configuration = try options.load()
            let queue = RedisQueue(url: configuration.redis.url, prefix: configuration.redis.keyPrefix, workerID: "cli")
            print("purged \(try queue.deadPurge())")
        }
    }
}
