import Foundation
import TestSupport
import WebhookCore
import WebhookQueue
import WebhookRedis
import XCTest

/// The attempt log's writes (`Scripts.settle`) and reads (`AttemptLog`) against a real
/// redis-server, through the real settle path: taken items settled in bulk with their records.
final class AttemptLogQueueTests: RedisServerTestCase {
    private func joinedQueue(log: AttemptLogConfiguration) throws -> RedisQueue {
        let queue = RedisQueue(url: server.url, prefix: prefix, workerID: "w1")
        XCTAssertEqual(try queue.heartbeat(join: true, leaseMillis: 30_000), .alive)
        queue.attemptLog = log
        return queue
    }

    /// Pushes `count` raw events onto the queue, 1000 per LPUSH.
    private func enqueue(_ count: Int, from start: Int = 0) throws {
        var index = start
        while index < start + count {
            let end = min(start + count, index + 1000)
            let items = (index..<end).map { Array(#"{"action":"user_created","username":"user-\#($0)"}"#.utf8) }
            _ = try redis.command([Array("LPUSH".utf8), Array("t:queue".utf8)] + items)
            index = end
        }
    }

    /// A record as a worker writes it for a delivered attempt.
    private func record(_ n: Int, time: UInt64 = UInt64(Date().timeIntervalSince1970 * 1000),
                        outcome: AttemptOutcome = .delivered) -> AttemptRecord {
        AttemptRecord(time: time, webhookID: "msg_\(String(repeating: "0", count: 24))\(String(format: "%08x", n))_nb1c2d3e4f5a6b7c8",
                      action: "user_created", user: "user-\(n)", endpoint: "billing", attempt: 1, outcome: outcome,
                      status: outcome == .delivered ? 200 : 503, latencyMs: 12, errorClass: outcome == .delivered ? nil : "status",
                      response: outcome == .delivered ? "" : "busy")
    }

    private func logLength() throws -> Int { try server.cli.int("LLEN", "t:log") }

    /// Takes up to `max` items and settles each as delivered to `endpoints`, one record each.
    @discardableResult
    private func takeAndSettle(_ queue: RedisQueue, max: Int, numbered: inout Int,
                               endpoints: [String] = ["billing"]) throws -> SettleResult? {
        let taken = try queue.take(max: max, maxBytes: 1 << 24)
        guard !taken.isEmpty else { return nil }
        // Records in `AttemptRecord.stored()`'s form, built directly: 200,000 of them through
        // the encoder of a debug build took most of the test's time.
        let time = UInt64(Date().timeIntervalSince1970 * 1000)
        let settlements = taken.map { item -> Settlement in
            defer { numbered += 1 }
            return Settlement(ack: item, log: endpoints.map { endpoint in
                Array("[\(time),\"msg_\(numbered)_\(endpoint)\",\"user_created\",\"user-\(numbered)\",\"\(endpoint)\",1,\"delivered\",200,12,null,\"\"]".utf8)
            })
        }
        return try queue.settle(settlements[...], deadMax: 0)
    }

    /// 200,000 attempts: 50,000 events, each delivered to four endpoints.
    func testTheLogStaysAtItsCapUnder200000Attempts() throws {
        let cap = 5_000
        let queue = try joinedQueue(log: AttemptLogConfiguration(maxRecords: cap))
        let endpoints = ["billing", "ops", "crm", "audit"]
        let events = 50_000
        let started = Date()
        var numbered = 0
        try enqueue(events)
        var settles = 0
        while let result = try takeAndSettle(queue, max: 500, numbered: &numbered, endpoints: endpoints) {
            XCTAssertFalse(result.logFailed)
            settles += 1
            if settles % 10 == 0 { XCTAssertLessThanOrEqual(try logLength(), cap, "after \(numbered * 4) attempts") }
        }
        XCTAssertEqual(numbered * endpoints.count, 200_000)
        XCTAssertEqual(try logLength(), cap, "exactly the cap, never more")
        let log = AttemptLog(queue: queue)
        let newest = try log.recent(.all, limit: 8)
        XCTAssertEqual(newest.map(\.user), ["user-49999", "user-49999", "user-49999", "user-49999",
                                            "user-49998", "user-49998", "user-49998", "user-49998"], "newest first")
        let oldestKept = events - cap / endpoints.count
        XCTAssertEqual(try log.recent(AttemptFilter(user: "user-\(oldestKept - 1)"), limit: 10), [], "trimmed away")
        XCTAssertEqual(try log.recent(AttemptFilter(user: "user-\(oldestKept)"), limit: 10).count, 4, "the oldest kept")
        let bytes = try server.cli.int("MEMORY", "USAGE", "t:log", "SAMPLES", "0")
        print("attempt log: \(numbered * endpoints.count) attempts in \(settles) settles, "
              + "\(String(format: "%.1f", Date().timeIntervalSince(started))) s; \(bytes / cap) bytes per record (MEMORY USAGE / LLEN)")
    }

    func testRecordsAreFencedWithTheirEventAndWrittenOnce() throws {
        let queue = try joinedQueue(log: AttemptLogConfiguration(maxRecords: 100))
        try enqueue(3)
        let taken = try queue.take(max: 10, maxBytes: 1 << 20)
        let settlements = taken.enumerated().map { Settlement(ack: $1, log: [record($0).stored()]) }
        XCTAssertEqual(try queue.settle(settlements[...], deadMax: 0), .init(written: 3, fenced: 0, trimmed: 0))
        // The reply was "lost": the same settle again writes nothing, records included.
        XCTAssertEqual(try queue.settle(settlements[...], deadMax: 0), .init(written: 0, fenced: 3, trimmed: 0))
        XCTAssertEqual(try logLength(), 3)
    }

    func testALogThatCannotBeWrittenFailsNothingOfTheSettle() throws {
        let queue = try joinedQueue(log: AttemptLogConfiguration(maxRecords: 100))
        _ = try redis.command("SET", "t:log", "not a list")
        try enqueue(2)
        let taken = try queue.take(max: 10, maxBytes: 1 << 20)
        let settlements = [
            Settlement(ack: taken[0], log: [record(0).stored()]),
            Settlement(ack: taken[1], outcomes: [.retry(after: 60, item: Array("@retry".utf8))], log: [record(1, outcome: .retry).stored()]),
        ]
        let result = try queue.settle(settlements[...], deadMax: 0)
        XCTAssertEqual(result, .init(written: 2, fenced: 0, trimmed: 0, logFailed: true))
        XCTAssertEqual(try list("t:processing:w1"), [], "both events settled")
        XCTAssertEqual(try server.cli.int("ZCARD", "t:delayed"), 1, "the retry was scheduled")
        XCTAssertEqual(try server.redisCLI("GET", "t:log"), "not a list")
    }

    func testUnderNoevictionWithMemoryFullDeliveredEventsStillSettleWithTheLogOn() throws {
        let queue = try joinedQueue(log: AttemptLogConfiguration(maxRecords: 100))
        try enqueue(50)
        let taken = try queue.take(max: 50, maxBytes: 1 << 20)
        _ = try server.redisCLI("CONFIG", "SET", "maxmemory-policy", "noeviction")
        _ = try server.redisCLI("CONFIG", "SET", "maxmemory", "1")
        defer { _ = try? server.redisCLI("CONFIG", "SET", "maxmemory", "0") }
        XCTAssertThrowsError(try server.redisCLI("SET", "probe", "x"), "memory is full: writes are refused") { error in
            XCTAssertTrue("\(error)".contains("OOM"), "\(error)")
        }
        let settlements = taken.enumerated().map { Settlement(ack: $1, log: [record($0).stored()]) }
        let result = try queue.settle(settlements[...], deadMax: 0)
        XCTAssertEqual(result.written, 50, "the log never fails the settle")
        XCTAssertEqual(try list("t:processing:w1"), [])
    }

    func testOneLPUSHPerSettleBatchNotACommandPerAttempt() throws {
        let queue = try joinedQueue(log: AttemptLogConfiguration(maxRecords: 100))
        try enqueue(500)
        let taken = try queue.take(max: 500, maxBytes: 1 << 24)
        _ = try server.redisCLI("CONFIG", "RESETSTAT")
        let settlements = taken.enumerated().map { Settlement(ack: $1, log: [record($0).stored()]) }
        XCTAssertEqual(try queue.settle(settlements[...], deadMax: 0).written, 500)
        let stats = try server.redisCLI("INFO", "commandstats")
        func calls(_ command: String) -> Int {
            guard let line = stats.split(whereSeparator: \.isNewline).first(where: { $0.hasPrefix("cmdstat_\(command):") }),
                  let range = line.range(of: #"calls=(\d+)"#, options: .regularExpression)
            else { return 0 }
            return Int(line[range].dropFirst("calls=".count)) ?? -1
        }
        XCTAssertEqual(calls("lpush"), 1, stats)
        XCTAssertEqual(calls("ltrim"), 1, "over the cap of 100: one trim")
        XCTAssertEqual(try logLength(), 100)
    }

    func testTheAgeLimitDropsOldRecordsAtTheNextWrite() throws {
        let queue = try joinedQueue(log: AttemptLogConfiguration(maxRecords: 100, maxAge: 3600))
        let now = UInt64(Date().timeIntervalSince1970 * 1000)
        for hoursAgo: UInt64 in [3, 2] {  // RPUSH: the older end
            _ = try redis.command([Array("RPUSH".utf8), Array("t:log".utf8), record(0, time: now - hoursAgo * 3_600_000).stored()])
        }
        _ = try redis.command([Array("RPUSH".utf8), Array("t:log".utf8), Array("junk".utf8)])
        _ = try redis.command([Array("LPUSH".utf8), Array("t:log".utf8), record(1, time: now - 60_000).stored()])
        try enqueue(1)
        var numbered = 2
        try takeAndSettle(queue, max: 1, numbered: &numbered)
        let kept = try AttemptLog(queue: queue).recent(.all, limit: 10)
        XCTAssertEqual(kept.map(\.user), ["user-2", "user-1"], "the two old ones and the unreadable entry are gone")
        XCTAssertEqual(try logLength(), 2)
    }

    /// `log --follow` prints a first read, then what comes after its cursor. Under a steady
    /// stream of writes, no record may be printed by both (a cursor read on its own, before the
    /// first read, repeated what was written between the two) and none may be skipped.
    func testAFollowsFirstReadAndItsCursorNeitherOverlapNorLeaveAGap() throws {
        let log = AttemptLog(queue: RedisQueue(url: server.url, prefix: prefix, workerID: "cli"))
        let url = server.url
        let written = 20_000
        let done = DispatchSemaphore(value: 0)
        Thread {
            defer { done.signal() }
            guard let writer = try? RedisConnection(url: url) else { return }
            for n in 0..<written {
                let entry = "[\(1_700_000_000_000 + n),\"msg_\(n)\",\"user_created\",\"user-\(n)\",\"billing\",1,\"delivered\",200,1,null,\"\"]"
                _ = try? writer.command("LPUSH", "t:log", entry)
            }
        }.start()
        var rounds = 0
        var finished = false
        while !finished {
            if done.wait(timeout: .now()) == .success { finished = true; break }
            rounds += 1
            let (first, cursor) = try log.recentWithCursor(.all, limit: 3)
            let next = try log.after(cursor).records
            let printed = (first.reversed() + next).map(\.webhookID)
            XCTAssertEqual(Set(printed).count, printed.count, "round \(rounds): a record printed twice: \(printed)")
            let numbers = printed.compactMap { Int($0.dropFirst(4)) }
            XCTAssertEqual(numbers, Array((numbers.first ?? 0)..<((numbers.first ?? 0) + numbers.count)),
                           "round \(rounds): oldest first with no gap")
            if testRun?.failureCount ?? 0 > 0 { break }
        }
        if !finished { XCTAssertEqual(done.wait(timeout: .now() + 60), .success, "the writer finished") }
        XCTAssertGreaterThan(rounds, 20, "the reads raced the writes")
        XCTAssertEqual(try log.count(), written)
    }

    func testReaderFiltersAndFollowsAndSkipsForeignEntries() throws {
        let queue = try joinedQueue(log: AttemptLogConfiguration(maxRecords: 100))
        let log = AttemptLog(queue: queue)
        let start = try log.cursor()
        XCTAssertEqual(try log.after(start).records, [], "an empty log")
        try enqueue(4)
        var numbered = 0
        try takeAndSettle(queue, max: 2, numbered: &numbered)
        _ = try redis.command("LPUSH", "t:log", "{\"forged\":true}")
        let (first, cursor) = try log.after(start)
        XCTAssertEqual(first.map(\.user), ["user-0", "user-1"], "oldest first")
        XCTAssertEqual(try log.after(cursor).records, [])
        try takeAndSettle(queue, max: 2, numbered: &numbered)
        let (second, _) = try log.after(cursor)
        XCTAssertEqual(second.map(\.user), ["user-2", "user-3"])
        XCTAssertEqual(try log.recent(.all, limit: 10).map(\.user), ["user-3", "user-2", "user-1", "user-0"])
        XCTAssertEqual(try log.recent(AttemptFilter(user: "user-1"), limit: 10).count, 1)
        let id = try XCTUnwrap(try log.recent(AttemptFilter(user: "user-2"), limit: 1).first?.webhookID)
        XCTAssertEqual(try log.forID(id).map(\.user), ["user-2"])
        XCTAssertEqual(try log.count(), 5, "the forged entry is in the list, never shown")
    }
}
