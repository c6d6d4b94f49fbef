import Foundation
import TestSupport
import WebhookCore
import WebhookRedis
import XCTest

/// Registration, heartbeats, reaping, the sweep, crash marks and administration against a real
/// redis-server. Leases are Redis's clock: tests age a worker by writing an old score directly.
final class RedisWorkersTests: RedisServerTestCase {
    private func queue(_ id: String) -> RedisQueue { RedisQueue(url: server.url, prefix: prefix, workerID: id) }

    private func redisMillis() throws -> Int {
        let parts = try server.redisCLI("TIME").split(separator: "\n")
        return try XCTUnwrap(Int(parts[0])) * 1000 + (try XCTUnwrap(Int(parts[1]))) / 1000
    }

    /// Makes `id`'s heartbeat look `age` ms old on Redis's clock.
    private func age(_ id: String, by age: Int) throws {
        _ = try server.redisCLI("ZADD", "t:workers", String(try redisMillis() - age), id)
    }

    func testJoinRefusesAnIDALiveWorkerHoldsAndBeatNeverResurrects() throws {
        let first = queue("same"), second = queue("same")
        XCTAssertEqual(try first.heartbeat(join: true, leaseMillis: 30_000), .alive)
        XCTAssertEqual(try second.heartbeat(join: true, leaseMillis: 30_000), .idTaken)
        try age("same", by: 60_000)
        XCTAssertEqual(try second.heartbeat(join: true, leaseMillis: 30_000), .alive, "an expired entry can be taken over")
        _ = try server.redisCLI("ZREM", "t:workers", "same")
        XCTAssertEqual(try first.heartbeat(join: false, leaseMillis: 30_000), .unregistered)
        XCTAssertEqual(try server.redisCLI("ZCARD", "t:workers"), "0", "a beat does not re-register")
    }

    func testHeartbeatScoresAreRedisTime() throws {
        let worker = queue("w")
        XCTAssertEqual(try worker.heartbeat(join: true, leaseMillis: 30_000), .alive)
        let score = try XCTUnwrap(Double(try server.redisCLI("ZSCORE", "t:workers", "w")))
        XCTAssertEqual(score, Double(try redisMillis()), accuracy: 5_000)
    }

    func testReapReturnsAnExpiredWorkersItemsMarkedAndLeavesLiveWorkersAlone() throws {
        _ = try redis.command("LPUSH", "t:queue", "a1", "a2", "a3", "b1", "b2")
        let dead = queue("dead"), live = queue("live")
        XCTAssertEqual(try dead.heartbeat(join: true, leaseMillis: 30_000), .alive)
        XCTAssertEqual(try live.heartbeat(join: true, leaseMillis: 30_000), .alive)
        let deadItems = try dead.take(max: 3, maxBytes: 1 << 20)
        let liveItems = try live.take(max: 2, maxBytes: 1 << 20)
        try age("dead", by: 60_000)

        XCTAssertEqual(Set(try live.reapCandidates(leaseMillis: 30_000)), ["dead"])
        XCTAssertNil(try live.reap(worker: "live", leaseMillis: 30_000), "a live worker is never reaped")
        XCTAssertEqual(try live.reap(worker: "dead", leaseMillis: 30_000), 3)
        XCTAssertEqual(try server.redisCLI("EXISTS", "t:processing:dead"), "0")
        XCTAssertEqual(try server.redisCLI("ZRANGE", "t:workers", "0", "-1"), "live")
        XCTAssertEqual(try server.redisCLI("SMEMBERS", "t:holders"), "live")
        XCTAssertEqual(Set(try list("t:processing:live")), Set(liveItems))
        // Order kept, each item marked with one crash.
        let retaken = try live.take(max: 10, maxBytes: 1 << 20)
        XCTAssertEqual(retaken, deadItems.map { Array("!1 ".utf8) + $0 })
    }

    func testCrashMarksCountUpAndBlameOnlyTheItemBeingAdmitted() throws {
        _ = try redis.command("LPUSH", "t:queue", "a", "b")
        let worker = queue("w")
        XCTAssertEqual(try worker.heartbeat(join: true, leaseMillis: 30_000), .alive)
        let taken = try worker.take(max: 2, maxBytes: 1 << 20)
        // The worker was admitting the second item when it died.
        try worker.markAdmitting(sha1: Self.sha1Hex(taken[1]))
        try age("w", by: 60_000)
        XCTAssertEqual(try queue("reaper").reap(worker: "w", leaseMillis: 30_000), 2)
        XCTAssertEqual(try server.redisCLI("EXISTS", "t:admitting:w"), "0")
        let queued = try list("t:queue").map { String(decoding: $0, as: UTF8.self) }
        XCTAssertEqual(Set(queued), [String(decoding: taken[0], as: UTF8.self), "!1 " + String(decoding: taken[1], as: UTF8.self)])

        // Without a marker every held item is blamed; an existing mark counts up.
        XCTAssertEqual(try worker.heartbeat(join: true, leaseMillis: 30_000), .alive)
        let again = try worker.take(max: 2, maxBytes: 1 << 20)
        try age("w", by: 60_000)
        XCTAssertEqual(try queue("reaper").reap(worker: "w", leaseMillis: 30_000), 2)
        let marks = try list("t:queue").map { String(decoding: $0.prefix(3), as: UTF8.self) }
        XCTAssertEqual(Set(marks), ["!1 ", "!2 "], "\(again.map { String(decoding: $0, as: UTF8.self) })")
    }

    func testSweepFindsProcessingListsOfUnregisteredWorkers() throws {
        _ = try redis.command("LPUSH", "t:queue", "x")
        let ghost = queue("ghost")
        XCTAssertEqual(try ghost.heartbeat(join: true, leaseMillis: 30_000), .alive)
        _ = try ghost.take(max: 1, maxBytes: 1 << 20)
        _ = try server.redisCLI("ZREM", "t:workers", "ghost")  // registered nowhere, still holding
        let reaper = queue("reaper")
        XCTAssertEqual(try reaper.reapCandidates(leaseMillis: 30_000), ["ghost"])
        XCTAssertEqual(try reaper.reap(worker: "ghost", leaseMillis: 30_000), 1)
        XCTAssertEqual(try server.redisCLI("LLEN", "t:queue"), "1")
        XCTAssertEqual(try server.redisCLI("SCARD", "t:holders"), "0")
    }

    func testHandBackAndDeregister() throws {
        _ = try redis.command("LPUSH", "t:queue", "x1", "x2", "x3")
        let worker = queue("w1")
        XCTAssertEqual(try worker.heartbeat(join: true, leaseMillis: 30_000), .alive)
        let taken = try worker.take(max: 3, maxBytes: 1 << 20)

        XCTAssertFalse(try worker.deregister(), "holds items: stays registered for the reapers")
        XCTAssertEqual(try server.redisCLI("ZCARD", "t:workers"), "1")
        XCTAssertEqual(try worker.handBack(), 3)
        XCTAssertEqual(try server.redisCLI("EXISTS", "t:processing:w1"), "0")
        XCTAssertTrue(try worker.deregister())
        XCTAssertEqual(try server.redisCLI("ZCARD", "t:workers"), "0")
        XCTAssertEqual(try server.redisCLI("SCARD", "t:holders"), "0")
        XCTAssertEqual(try worker.heartbeat(join: true, leaseMillis: 30_000), .alive)
        XCTAssertEqual(try worker.take(max: 3, maxBytes: 1 << 20), taken)
    }

    func testDepths() throws {
        _ = try redis.command("LPUSH", "t:queue", "1", "2", "3", "4", "5")
        let live = queue("live"), stale = queue("stale")
        XCTAssertEqual(try live.heartbeat(join: true, leaseMillis: 30_000), .alive)
        XCTAssertEqual(try stale.heartbeat(join: true, leaseMillis: 30_000), .alive)
        _ = try live.take(max: 1, maxBytes: 1 << 20)
        _ = try stale.take(max: 2, maxBytes: 1 << 20)
        try age("stale", by: 31_000)
        _ = try server.redisCLI("ZADD", "t:delayed", "1", "r")
        _ = try server.redisCLI("LPUSH", "t:dead", "d")
        XCTAssertEqual(try live.depths(leaseMillis: 30_000),
                       QueueDepths(queue: 2, delayed: 1, processing: 3, dead: 1, workers: ["live"]))
    }

    func testDeadListReplaceAndPurge() throws {
        let admin = queue("cli")
        let entries = ["e1", "e2", "e3"].map { #"{"reason":"\#($0)"}"# }
        for entry in entries { _ = try redis.command("LPUSH", "t:dead", entry) }
        XCTAssertEqual(try admin.deadList(limit: 2).map { String(decoding: $0, as: UTF8.self) }, [entries[2], entries[1]], "newest first")
        XCTAssertTrue(try admin.deadReplace(entry: Array(entries[1].utf8), with: Array("replayed".utf8)))
        XCTAssertEqual(try server.redisCLI("LRANGE", "t:queue", "0", "-1"), "replayed")
        XCTAssertFalse(try admin.deadReplace(entry: Array(entries[1].utf8), with: Array("twice".utf8)), "already gone")
        XCTAssertEqual(try server.redisCLI("LLEN", "t:queue"), "1")
        XCTAssertEqual(try admin.deadPurge(), 2)
        XCTAssertEqual(try admin.deadList(limit: 10), [])
        XCTAssertEqual(try admin.deadList(limit: 0), [])
    }

    func testScriptsSurviveAScriptFlush() throws {
        _ = try redis.command("LPUSH", "t:queue", "a", "b")
        let worker = queue("w1")
        XCTAssertEqual(try worker.heartbeat(join: true, leaseMillis: 30_000), .alive)
        XCTAssertEqual(try worker.take(max: 1, maxBytes: 1 << 20).count, 1)
        XCTAssertEqual(try server.redisCLI("SCRIPT", "FLUSH"), "OK")
        XCTAssertEqual(try worker.take(max: 1, maxBytes: 1 << 20).count, 1, "NOSCRIPT falls back to EVAL")
        XCTAssertEqual(try list("t:processing:w1").count, 2)
    }

    static func sha1Hex(_ bytes: [UInt8]) throws -> String {
        // An independent SHA-1: the system's sha1sum.
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/sha1sum")
        let input = Pipe(), output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        try process.run()
        input.fileHandleForWriting.write(Data(bytes))
        try input.fileHandleForWriting.close()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return String(text.prefix(40))
    }
}
