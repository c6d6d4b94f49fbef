import ArgumentParser
import Foundation
import WebhookCore
import WebhookRedis

/// `webhook-worker endpoints`: every configured endpoint with its fleet-wide state; `pause` and
/// `resume` for maintenance windows (a paused endpoint's deliveries are held like an open
/// breaker's: no tries spent, nothing dropped).
struct EndpointsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "endpoints",
        abstract: "List endpoints with their state; pause and resume one.",
        subcommands: [List.self, Pause.self, Resume.self],
        defaultSubcommand: List.self)

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Name, kind, redacted URL, state, last error, recent outcomes.")
        @OptionGroup var options: ConfigOptions
        @Flag(help: "Print one JSON object per endpoint, one per line.") var json = false

        func run() throws {
            let configuration = try options.load()
            let state = EndpointState(url: configuration.redis.url, prefix: configuration.redis.keyPrefix)
            let queue = RedisQueue(url: configuration.redis.url, prefix: configuration.redis.keyPrefix, workerID: "cli")
            for target in configuration.targets {
                let status = try state.status(endpoint: target.name)
                let ordering = target.spec?.ordering
                let gauge = try ordering.map { _ in try queue.orderedGauge(targetID: target.id) }
                if json {
                    var out: [UInt8] = []
                    out.append(contentsOf: #"{"name":"#.utf8); JSONWriter.appendString(target.name, to: &out)
                    out.append(contentsOf: #","kind":"#.utf8); JSONWriter.appendString(target.kind.rawValue, to: &out)
                    out.append(contentsOf: #","url":"#.utf8); JSONWriter.appendString(target.redactedURL, to: &out)
                    out.append(contentsOf: #","state":"#.utf8); JSONWriter.appendString(status.stateName, to: &out)
                    if let since = Self.since(status) {
                        out.append(contentsOf: #","since":"#.utf8); JSONWriter.appendSeconds(since, to: &out)
                    }
                    out.append(contentsOf: #","last_error":"#.utf8)
                    if let error = status.lastError { JSONWriter.appendString(error, to: &out) } else { out.append(contentsOf: "null".utf8) }
                    out.append(contentsOf: #","recent_successes":"#.utf8); JSONWriter.appendInt(status.recentSuccesses, to: &out)
                    out.append(contentsOf: #","recent_failures":"#.utf8); JSONWriter.appendInt(status.recentFailures, to: &out)
                    if let ordering, let gauge {
                        out.append(contentsOf: #","ordering":{"key":"#.utf8); JSONWriter.appendString(ordering.key, to: &out)
                        out.append(contentsOf: #","blocked_keys":"#.utf8); JSONWriter.appendInt(gauge.blockedKeys, to: &out)
                        out.append(contentsOf: #","oldest_blocked_seconds":"#.utf8); JSONWriter.appendSeconds(gauge.oldestBlockedAge ?? 0, to: &out)
                        out.append(contentsOf: #","active_keys":"#.utf8); JSONWriter.appendInt(gauge.activeKeys, to: &out)
                        out.append(UInt8(ascii: "}"))
                    }
                    out.append(UInt8(ascii: "}"))
                    print(String(decoding: out, as: UTF8.self))
                    continue
                }
                var state = status.stateName
                if let since = Self.since(status) {
                    state += " since " + ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: since))
                }
                print("\(target.name)  \(target.kind.rawValue)  \(target.redactedURL)")
                print("    state: \(state)  last error: \(status.lastError ?? "-")  "
                    + "last hour: \(status.recentSuccesses) ok, \(status.recentFailures) failed")
                if let ordering, let gauge {
                    print("    ordered per \(ordering.key): \(gauge.summary)")
                }
            }
        }

        static func since(_ status: EndpointStatus) -> Double? {
            switch status.state {
            case .ok: return nil
            case .open(let since), .paused(let since): return since
            }
        }
    }

    struct Pause: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Hold an endpoint's deliveries (fleet-wide) until `resume`.")
        @OptionGroup var options: ConfigOptions
        @Argument(help: "The endpoint's name (see `endpoints`).") var name: String

        func run() throws {
            let changed = try EndpointsCommand.state(options, name).pause(endpoint: name)
            print(changed ? "paused \(name)" : "\(name) was already paused")
        }
    }

    struct Resume: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Release an endpoint's held deliveries.")
        @OptionGroup var options: ConfigOptions
        @Argument(help: "The endpoint's name (see `endpoints`).") var name: String

        func run() throws {
            let changed = try EndpointsCommand.state(options, name).resume(endpoint: name)
            print(changed ? "resumed \(name)" : "\(name) was not paused")
        }
    }

    /// The fleet-wide state of the configured endpoint `name`; refuses names not configured.
    static func state(_ options: ConfigOptions, _ name: String) throws -> EndpointState {
        let configuration = try options.load()
        guard configuration.targets.contains(where: { $0.name == name }) else {
            throw ValidationError("no endpoint named '\(name)' (see `webhook-worker endpoints`)")
        }
        return EndpointState(url: configuration.redis.url, prefix: configuration.redis.keyPrefix)
    }
}
