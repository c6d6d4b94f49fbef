import ArgumentParser
import Foundation
import WebhookCore
import WebhookRedis

/// `webhook-worker log`: the attempt log, filtered, newest first; `--follow` tails it.
/// Thin: filtering is `AttemptFilter`'s, reading `AttemptLog`'s, formatting `AttemptRecord`'s.
struct LogCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "log",
        abstract: "Show the attempt log: every attempt at every endpoint, newest first.",
        discussion: """
            Filters combine. Records are kept up to WEBHOOK_LOG_MAX (and WEBHOOK_LOG_MAX_AGE). \
            With --follow, the latest matches are printed oldest first and new ones follow as \
            they are written, until Ctrl-C.
            """)

    @OptionGroup var options: ConfigOptions
    @Option(help: "Only this endpoint (its name in `endpoints`).") var endpoint: String?
    @Option(help: "Only this user (the event's username, or its key fields).") var user: String?
    @Option(name: .customLong("id"), help: "Only this webhook-id.") var webhookID: String?
    @Option(help: "Only this action, e.g. user_created.") var action: String?
    @Option(help: "Only this outcome: delivered, retry, dead, rate_limited, held.") var outcome: String?
    @Option(help: "Only records from the last DURATION, e.g. 10m, 2h, 1d.") var since: String?
    @Option(help: "At most this many records.") var limit: Int = 100
    @Flag(help: "One JSON object per line.") var json = false
    @Flag(help: "Keep printing new records until Ctrl-C.") var follow = false
    @Option(help: .hidden) var pollInterval: Double = 0.5

    func validate() throws {
        if limit < 1 { throw ValidationError("--limit must be 1 or more") }
        if let outcome, AttemptOutcome(argument: outcome) == nil {
            throw ValidationError("--outcome: expected one of delivered, retry, dead, rate_limited, held; got '\(outcome)'")
        }
        if let since, DurationText.seconds(since) == nil {
            throw ValidationError("--since: expected a duration like 30s, 10m, 2h or 1d; got '\(since)'")
        }
    }

    func run() throws {
        let configuration = try options.load()
        let queue = RedisQueue(url: configuration.redis.url, prefix: configuration.redis.keyPrefix, workerID: "cli")
        let log = AttemptLog(queue: queue)
        let nowMillis = UInt64(Date().timeIntervalSince1970 * 1000)
        let filter = AttemptFilter(endpoint: endpoint, user: user, webhookID: webhookID, action: action,
                                   outcome: outcome.flatMap(AttemptOutcome.init(argument:)),
                                   since: since.flatMap(DurationText.seconds).map { AttemptFilter.since(seconds: $0, nowMillis: nowMillis) })
        guard follow else {
            write(try log.recent(filter, limit: limit))
            return
        }
        // Ctrl-C ends the tail: that is how it is meant to stop, so it exits 0. Output is
        // written unbuffered, so nothing is lost with the process.
        signal(SIGINT) { _ in _exit(0) }
        signal(SIGTERM) { _ in _exit(0) }
        let (first, start) = try log.recentWithCursor(filter, limit: limit)
        var cursor = start
        write(first.reversed())
        while true {
            Thread.sleep(forTimeInterval: max(0.05, pollInterval))
            let batch: (records: [AttemptRecord], cursor: AttemptLog.Cursor)
            do {
                batch = try log.after(cursor)
            } catch {
                guard error.isConnectionError else { throw error }
                FileHandle.standardError.write(Data("webhook-worker log: \(error); retrying\n".utf8))
                Thread.sleep(forTimeInterval: 1)
                continue
            }
            cursor = batch.cursor
            write(batch.records.filter(filter.matches))
        }
    }

    /// Writes one line per record in one unbuffered write, so a tail's lines are out at once;
    /// a reader that went away (a closed pipe) ends the command.
    private func write(_ records: some Sequence<AttemptRecord>) {
        var out: [UInt8] = []
        for record in records {
            if json { out.append(contentsOf: record.json()) } else { out.append(contentsOf: record.line.utf8) }
            out.append(UInt8(ascii: "\n"))
        }
        guard !out.isEmpty else { return }
        do { try FileHandle.standardOutput.write(contentsOf: out) } catch { _exit(0) }
    }
}
