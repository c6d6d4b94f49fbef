import Foundation
import TestSupport
import WebhookCore
import WebhookRedis
import XCTest

/// RedisQueue, RedisConnection and EventProducer against a real redis-server.
/// Key names are spelled out literally: they are the documented layout (docs/ARCHITECTURE.md).
final class RedisQueueTests: XCTestCase {
    private let prefix = "t"

    // MARK: take

    func testTakeTagsRawEventsAndLeavesTaggedEventsAndDeliveriesAlone() throws {
        let server = try RedisServer()
        defer { server.stop() }
        let raw = #"{"action":"user_created","username":"alice"}"#
        let tagged = #"#keep-me {"action":"a","username":"u"}"#
        let delivery = #"@msg_x_00000000 2 w http://127.0.0.1:9/ {"action":"a","username":"u"}"#
        let redis = try RedisConnection(url: server.url)
        // LPUSH a b c: a is at the taking end.
        _ = try redis.command("LPUSH", "t:queue", raw, tagged, delivery)

        let queue = RedisQueue(url: server.url, prefix: prefix, workerID: "w1")
        let taken = try queue.take(max: 10)

        XCTAssertEqual(taken.count, 3)
        let first = String(decoding: taken[0].stored, as: UTF8.self)
        XCTAssertNotNil(first.range(of: #"^#[0-9a-z]{16}-1 "#, options: .regularExpression), first)
        XCTAssertTrue(first.hasSuffix(" " + raw))
        guard case .event(let tag?, let body) = taken[0].item else { return XCTFail("not a tagged event: \(taken[0].item)") }
        XCTAssertEqual(Array(body), Array(raw.utf8))
        XCTAssertEqual("#\(tag) \(raw)", first)
        XCTAssertEqual(taken[1].stored, Array(tagged.utf8))
        XCTAssertEqual(taken[1].item, .event(tag: "keep-me", raw: Array(#"{"action":"a","username":"u"}"#.utf8)[...]))
        XCTAssertEqual(taken[2].stored, Array(delivery.utf8))
        guard case .delivery(let parsed) = taken[2].item else { return XCTFail("not a delivery: \(taken[2].item)") }
        XCTAssertEqual(parsed.tries, 2)

        XCTAssertEqual(try list(redis, "t:queue"), [])
        XCTAssertEqual(Set(try list(redis, "t:processing:w1")), Set(taken.map(\.stored)))
    }

    func testTakeFromAnEmptyQueueReturnsNothing() throws {
        let server = try RedisServer()
        defer { server.stop() }
        let queue = RedisQueue(url: server.url, prefix: prefix, workerID: "w1")
        XCTAssertEqual(try queue.take(max: 100).count, 0)
        XCTAssertEqual(try queue.take(max: 0).count, 0)
        XCTAssertEqual(try server.redisCLI("EXISTS", "t:processing:w1"), "0")
    }

    func testIdenticalPayloadsStayTwoItemsEverywhere() throws {
        let server = try RedisServer()
        defer { server.stop() }
        let event = #"{"action":"user_updated","username":"bob"}"#
        let redis = try RedisConnection(url: server.url)
        _ = try redis.command("LPUSH", "t:queue", event, event)
        let queue = RedisQueue(url: server.url, prefix: prefix, workerID: "w1")

        let taken = try queue.take(max: 10)
        XCTAssertEqual(taken.count, 2)
        XCTAssertNotEqual(taken[0].stored, taken[1].stored, "each copy gets its own tag")
        XCTAssertEqual(try list(redis, "t:processing:w1").count, 2)

        // Back in the queue and taken again: still two, tags unchanged.
        XCTAssertEqual(try queue.handBack(), 2)
        XCTAssertEqual(try list(redis, "t:queue").count, 2)
        let again = try queue.take(max: 10)
        XCTAssertEqual(again.map(\.stored), taken.map(\.stored))

        // Acknowledging one removes exactly one.
        try queue.settle(SettleBatch(acks: [again[0].stored]))
        XCTAssertEqual(try list(redis, "t:processing:w1"), [again[1].stored])
    }

    func testLargeTakeAndSettleCrossTheScriptChunkSize() throws {
        let server = try RedisServer()
        defer { server.stop() }
        let producer = try EventProducer(url: server.url, prefix: prefix)
        let events = (0..<2_500).map { Array(#"{"action":"a","username":"u\#($0)"}"#.utf8) }
        try producer.enqueue(events)
        let queue = RedisQueue(url: server.url, prefix: prefix, workerID: "w1")

        let taken = try queue.take(max: 3_000)
        XCTAssertEqual(taken.count, 2_500)
        XCTAssertEqual(Set(taken.map(\.stored)).count, 2_500)
        // Oldest first: the producer's order.
        for (index, item) in taken.enumerated() {
            guard case .event(_, let raw) = item.item else { return XCTFail("\(item.item)") }
            XCTAssertEqual(Array(raw), events[index])
        }
        let retries = taken.enumerated().map { (due: Double($0.offset), item: Array("@id 1 w http://x/ \($0.offset)".utf8)) }
        try queue.settle(SettleBatch(acks: taken.map(\.stored), retries: retries))
        XCTAssertEqual(try server.redisCLI("LLEN", "t:processing:w1"), "0")
        XCTAssertEqual(try server.redisCLI("ZCARD", "t:delayed"), "2500")
    }

    // MARK: waitForWork

    func testWaitForWorkBlocksUntilAnotherConnectionPushesAndTakesNothing() throws {
        let server = try RedisServer()
        defer { server.stop() }
        let url = server.url
        DispatchQueue.global().asyncAfter(deadline: .now() + 0.5) {
            let producer = try? EventProducer(url: url, prefix: "t")
            try? producer?.enqueue([Array("late".utf8)])
        }
        let queue = RedisQueue(url: server.url, prefix: prefix, workerID: "w1")
        let start = Date()
        XCTAssertTrue(try queue.waitForWork(timeout: 60))
        let elapsed = Date().timeIntervalSince(start)
        XCTAssertGreaterThan(elapsed, 0.3)
        XCTAssertLessThan(elapsed, 30)
        XCTAssertEqual(try server.redisCLI("LRANGE", "t:queue", "0", "-1"), "late")

        // Something waiting: returns at once, order untouched.
        let redis = try RedisConnection(url: server.url)
        _ = try redis.command("LPUSH", "t:queue", "b", "c")
        let before = try list(redis, "t:queue")
        XCTAssertTrue(try queue.waitForWork(timeout: 60))
        XCTAssertEqual(try list(redis, "t:queue"), before)
    }

    func testWaitForWorkTimesOutOnAnEmptyQueue() throws {
        let server = try RedisServer()
        defer { server.stop() }
        let queue = RedisQueue(url: server.url, prefix: prefix, workerID: "w1")
        let start = Date()
        XCTAssertFalse(try queue.waitForWork(timeout: 0.3))
        XCTAssertGreaterThan(Date().timeIntervalSince(start), 0.25)
        // The connection is still usable after the blocking call (read timeout restored).
        try queue.ping()
    }

    // MARK: settle and the delayed set

    func testSettleAppliesTheWholeBatch() throws {
        let server = try RedisServer()
        defer { server.stop() }
        let redis = try RedisConnection(url: server.url)
        _ = try redis.command("LPUSH", "t:queue", "e1", "e2", "e3")
        let queue = RedisQueue(url: server.url, prefix: prefix, workerID: "w1")
        let taken = try queue.take(max: 3)

        try queue.settle(SettleBatch(
            acks: taken.map(\.stored),
            retries: [(due: 1_700_000_000.25, item: Array("@m 1 w http://a/ e1".utf8))],
            requeue: [Array("again".utf8)],
            dead: [Array(#"{"reason":"x"}"#.utf8)]
        ))

        XCTAssertEqual(try list(redis, "t:processing:w1"), [])
        XCTAssertEqual(try list(redis, "t:queue"), [Array("again".utf8)])
        XCTAssertEqual(try list(redis, "t:dead"), [Array(#"{"reason":"x"}"#.utf8)])
        XCTAssertEqual(try server.redisCLI("ZRANGE", "t:delayed", "0", "-1", "WITHSCORES"), "@m 1 w http://a/ e1\n1700000000.25")
        XCTAssertEqual(try queue.nextDue(), 1_700_000_000.25)
    }

    func testPromoteDueMovesOnlyDueDeliveries() throws {
        let server = try RedisServer()
        defer { server.stop() }
        _ = try server.redisCLI("ZADD", "t:delayed", "10", "a", "20", "b", "30", "c")
        let queue = RedisQueue(url: server.url, prefix: prefix, workerID: "w1")

        XCTAssertEqual(try queue.promoteDue(now: 20, limit: 10), 2)
        XCTAssertEqual(Set(try server.redisCLI("LRANGE", "t:queue", "0", "-1").split(separator: "\n")), ["a", "b"])
        XCTAssertEqual(try queue.nextDue(), 30)
        XCTAssertEqual(try queue.promoteDue(now: 29.999, limit: 10), 0)
        XCTAssertEqual(try queue.promoteDue(now: 100, limit: 1), 1)
        XCTAssertNil(try queue.nextDue())
    }

    func testConcurrentPromotersNeitherDuplicateNorLose() throws {
        let server = try RedisServer()
        defer { server.stop() }
        let redis = try RedisConnection(url: server.url)
        let members = (0..<2_000).map { "@id\($0) 0 w http://a/ {}" }
        var zadd = ["ZADD", "t:delayed"]
        for (index, member) in members.enumerated() { zadd += [String(index), member] }
        _ = try redis.command(zadd.map { Array($0.utf8) })

        let url = server.url
        let failures = Locked<[String]>([])
        DispatchQueue.concurrentPerform(iterations: 2) { index in
            let queue = RedisQueue(url: url, prefix: "t", workerID: "w\(index)")
            do {
                // Bounded, so a promoter that never empties the set fails instead of hanging.
                var rounds = 0
                while try queue.promoteDue(now: 1e10, limit: 37) == 37, rounds < 1_000 { rounds += 1 }
            } catch {
                failures.update { $0.append("\(error)") }
            }
        }
        XCTAssertEqual(failures.value, [])
        let queued = try list(redis, "t:queue").map { String(decoding: $0, as: UTF8.self) }
        XCTAssertEqual(queued.count, 2_000)
        XCTAssertEqual(Set(queued), Set(members))
        XCTAssertEqual(try server.redisCLI("ZCARD", "t:delayed"), "0")
    }

    // MARK: workers

    func testReapReturnsAnExpiredWorkersItemsAndLeavesLiveWorkersAlone() throws {
        let server = try RedisServer()
        defer { server.stop() }
        let now = 1_000_000_000
        let redis = try RedisConnection(url: server.url)
        _ = try redis.command("LPUSH", "t:queue", "a1", "a2", "a3", "b1", "b2")
        let dead = RedisQueue(url: server.url, prefix: prefix, workerID: "dead")
        let live = RedisQueue(url: server.url, prefix: prefix, workerID: "live")
        try dead.heartbeat(nowMillis: now - 60_000)
        try live.heartbeat(nowMillis: now - 1_000)
        let deadItems = try dead.take(max: 3)
        let liveItems = try live.take(max: 2)

        XCTAssertEqual(try live.reap(nowMillis: now, leaseMillis: 30_000), 3)
        XCTAssertEqual(try server.redisCLI("EXISTS", "t:processing:dead"), "0")
        XCTAssertEqual(try server.redisCLI("ZRANGE", "t:workers", "0", "-1"), "live")
        XCTAssertEqual(Set(try list(redis, "t:processing:live")), Set(liveItems.map(\.stored)))
        // Tags kept, original order kept: retaken exactly as first taken.
        XCTAssertEqual(try live.take(max: 10).map(\.stored), deadItems.map(\.stored))
        XCTAssertEqual(try live.reap(nowMillis: now, leaseMillis: 30_000), 0)
    }

    func testHandBackAndDeregister() throws {
        let server = try RedisServer()
        defer { server.stop() }
        let redis = try RedisConnection(url: server.url)
        _ = try redis.command("LPUSH", "t:queue", "x1", "x2", "x3")
        let queue = RedisQueue(url: server.url, prefix: prefix, workerID: "w1")
        try queue.heartbeat(nowMillis: 5)
        let taken = try queue.take(max: 3)

        XCTAssertFalse(try queue.deregister(), "holds items: stays registered for the reapers")
        XCTAssertEqual(try server.redisCLI("ZSCORE", "t:workers", "w1"), "5")
        XCTAssertEqual(try queue.handBack(), 3)
        XCTAssertEqual(try server.redisCLI("EXISTS", "t:processing:w1"), "0")
        XCTAssertTrue(try queue.deregister())
        XCTAssertEqual(try server.redisCLI("ZCARD", "t:workers"), "0")
        XCTAssertEqual(try queue.take(max: 3).map(\.stored), taken.map(\.stored))
    }

    func testDepths() throws {
        let server = try RedisServer()
        defer { server.stop() }
        let now = 2_000_000
        let redis = try RedisConnection(url: server.url)
        _ = try redis.command("LPUSH", "t:queue", "1", "2", "3", "4", "5")
        let live = RedisQueue(url: server.url, prefix: prefix, workerID: "live")
        let stale = RedisQueue(url: server.url, prefix: prefix, workerID: "stale")
        try live.heartbeat(nowMillis: now)
        try stale.heartbeat(nowMillis: now - 31_000)
        _ = try live.take(max: 1)
        _ = try stale.take(max: 2)
        try live.settle(SettleBatch(retries: [(due: 1, item: Array("r".utf8))], dead: [Array("d".utf8)]))

        let depths = try live.depths(nowMillis: now, leaseMillis: 30_000)
        XCTAssertEqual(depths, QueueDepths(queue: 2, delayed: 1, processing: 3, dead: 1, workers: ["live"]))
    }

    // MARK: dead letters and administration

    func testDeadListReplaceAndPurge() throws {
        let server = try RedisServer()
        defer { server.stop() }
        let queue = RedisQueue(url: server.url, prefix: prefix, workerID: "w1")
        let entries = ["e1", "e2", "e3"].map { Array(#"{"reason":"\#($0)"}"#.utf8) }
        try queue.settle(SettleBatch(dead: entries))

        XCTAssertEqual(try queue.deadList(limit: 2), [entries[2], entries[1]], "newest first")
        XCTAssertTrue(try queue.deadReplace(entry: entries[1], with: Array("replayed".utf8)))
        XCTAssertEqual(try server.redisCLI("LRANGE", "t:queue", "0", "-1"), "replayed")
        XCTAssertFalse(try queue.deadReplace(entry: entries[1], with: Array("twice".utf8)), "already gone")
        XCTAssertEqual(try server.redisCLI("LLEN", "t:queue"), "1")
        XCTAssertTrue(try queue.deadReplace(entry: entries[0], with: nil))
        XCTAssertEqual(try queue.deadList(limit: 10), [entries[2]])
        XCTAssertEqual(try queue.deadPurge(), 1)
        XCTAssertEqual(try queue.deadList(limit: 10), [])
        XCTAssertEqual(try queue.deadList(limit: 0), [])
    }

    func testScriptsSurviveAScriptFlush() throws {
        let server = try RedisServer()
        defer { server.stop() }
        let redis = try RedisConnection(url: server.url)
        _ = try redis.command("LPUSH", "t:queue", "a", "b")
        let queue = RedisQueue(url: server.url, prefix: prefix, workerID: "w1")
        XCTAssertEqual(try queue.take(max: 1).count, 1)
        XCTAssertEqual(try server.redisCLI("SCRIPT", "FLUSH"), "OK")
        XCTAssertEqual(try queue.take(max: 1).count, 1, "NOSCRIPT falls back to EVAL")
        XCTAssertEqual(try list(redis, "t:processing:w1").count, 2)
    }

    func testMaxmemoryPolicy() throws {
        let server = try RedisServer()
        defer { server.stop() }
        XCTAssertEqual(try RedisQueue(url: server.url, prefix: prefix, workerID: "w").maxmemoryPolicy(), "noeviction")
        let locked = try RedisServer(extraArguments: ["--rename-command", "CONFIG", ""])
        defer { locked.stop() }
        XCTAssertNil(try RedisQueue(url: locked.url, prefix: prefix, workerID: "w").maxmemoryPolicy())
    }

    // MARK: connections

    func testConnectionErrorsAreReportedAndTheQueueReconnectsAfterRestart() throws {
        let server = try RedisServer()
        defer { server.stop() }
        let queue = RedisQueue(url: server.url, prefix: prefix, workerID: "w1")
        try queue.ping()

        server.kill()
        for _ in 0..<2 {  // the broken connection, then a refused reconnect
            XCTAssertThrowsError(try queue.ping()) { error in
                XCTAssertTrue((error as? RedisError)?.isConnectionError == true, "\(error)")
            }
        }
        try server.restart()
        try queue.ping()
        try queue.heartbeat(nowMillis: 1)
    }

    func testAServerThatStopsAnsweringTimesOutAsAConnectionError() throws {
        let server = try RedisServer()
        defer { server.stop() }
        let redis = try RedisConnection(url: server.url, readTimeout: 0.5)
        XCTAssertEqual(try server.redisCLI("CLIENT", "PAUSE", "3000", "ALL"), "OK")
        for _ in 0..<2 {  // the timed-out call, then the unusable connection
            XCTAssertThrowsError(try redis.command("PING")) { error in
                XCTAssertTrue((error as? RedisError)?.isConnectionError == true, "\(error)")
                XCTAssertTrue("\(error)".contains("read timeout"), "\(error)")
            }
        }
    }

    func testAuthWithPasswordAndUsernameAndSelect() throws {
        let password = "s3cret-Pa55"
        let server = try RedisServer(password: password)
        defer { server.stop() }
        let queue = RedisQueue(url: server.url(database: 3), prefix: prefix, workerID: "w1")
        try queue.heartbeat(nowMillis: 7)
        XCTAssertEqual(try server.redisCLI("-n", "3", "ZSCORE", "t:workers", "w1"), "7")
        XCTAssertEqual(try server.redisCLI("-n", "0", "EXISTS", "t:workers"), "0")

        XCTAssertEqual(try server.redisCLI("ACL", "SETUSER", "alice", "on", ">alice-pw", "~*", "+@all"), "OK")
        try RedisQueue(url: server.url(database: 0, username: "alice", password: "alice-pw"), prefix: prefix, workerID: "w").ping()

        let wrong = "not-the-Pa55word"
        XCTAssertThrowsError(try RedisConnection(url: server.url(database: 0, password: wrong))) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("AUTH"), text)
            XCTAssertFalse(text.contains(wrong), "the password must never appear: \(text)")
            XCTAssertFalse(text.contains(password), "the password must never appear: \(text)")
        }
    }

    // MARK: EventProducer

    func testEventProducerRoundTrip() throws {
        let server = try RedisServer()
        defer { server.stop() }
        let producer = try EventProducer(url: server.url, prefix: prefix)
        try producer.enqueue(action: "user_created", username: "alice", fields: [
            ("used_percent", 80),
            ("by", JSONValue(argument: #"{"username":"admin","is_sudo":true}"#)),
            ("reason", JSONValue(argument: "quota / reached")),
        ], now: 1_680_506_457.636369)
        let binary: [UInt8] = [0x7B, 0x00, 0xFF, 0x0D, 0x0A, 0x7D]  // NUL, invalid UTF-8, CRLF
        try producer.enqueue([Array("first".utf8), binary])

        let queue = RedisQueue(url: server.url, prefix: prefix, workerID: "w1")
        let taken = try queue.take(max: 10)
        XCTAssertEqual(taken.count, 3)
        guard case .event(_?, let raw) = taken[0].item else { return XCTFail("\(taken[0].item)") }
        let expected = #"{"username":"alice","action":"user_created","enqueued_at":1680506457.636369,"#
            + #""used_percent":80,"by":{"username":"admin","is_sudo":true},"reason":"quota / reached"}"#
        XCTAssertEqual(String(decoding: raw, as: UTF8.self), expected)
        let event = try Event.parse(Array(raw), maxBytes: 1 << 20, now: 0)
        XCTAssertEqual(event.action, "user_created")
        XCTAssertEqual(event.username, "alice")
        guard case .event(_, let first) = taken[1].item, case .event(_, let second) = taken[2].item else {
            return XCTFail("\(taken)")
        }
        XCTAssertEqual(Array(first), Array("first".utf8))
        XCTAssertEqual(Array(second), binary, "binary-safe end to end")
    }

    func testEventBuilderFieldRules() throws {
        let bytes = try EventProducer.event(action: "a", username: "u", fields: [
            ("x", "1"), ("action", "b"), ("x", 2), ("n", nil), ("f", 1.5), ("s", JSONValue(argument: "\"3\"")),
        ], now: 1)
        XCTAssertEqual(String(decoding: bytes, as: UTF8.self),
                       #"{"username":"u","action":"b","enqueued_at":1.000000,"x":2,"n":null,"f":1.5,"s":"3"}"#)
        XCTAssertThrowsError(try EventProducer.event(action: "a", username: "u", fields: [("bad", .number(.nan))], now: 1))
        XCTAssertThrowsError(try JSONValue(json: "{not json"))
    }

    // MARK: Helpers

    private func list(_ redis: RedisConnection, _ key: String) throws -> [[UInt8]] {
        let reply = try redis.command("LRANGE", key, "0", "-1")
        return (reply.array ?? []).compactMap(\.bytes)
    }
}

/// A value shared with worker threads in a test.
private final class Locked<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: Value
    init(_ value: Value) { stored = value }
    var value: Value { lock.lock(); defer { lock.unlock() }; return stored }
    func update(_ body: (inout Value) -> Void) { lock.lock(); defer { lock.unlock() }; body(&stored) }
}
