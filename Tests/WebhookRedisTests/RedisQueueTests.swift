import Foundation
import TestSupport
import WebhookCore
import WebhookQueue
import WebhookRedis
import XCTest

/// RedisQueue's work path (take, wait, settle, promote) against a real redis-server.
/// Key names are spelled out literally: they are the documented layout (docs/ARCHITECTURE.md).
final class RedisQueueTests: RedisServerTestCase {
    /// A queue whose worker has joined (the take script refuses unregistered workers).
    private func joinedQueue(_ id: String = "w1") throws -> RedisQueue {
        let queue = RedisQueue(url: server.url, prefix: prefix, workerID: id)
        XCTAssertEqual(try queue.heartbeat(join: true, leaseMillis: 30_000), .alive)
        return queue
    }

    // MARK: take

    func testTakeTagsRawEventsAndLeavesInternalItemsAlone() throws {
        let raw = #"{"action":"user_created","username":"alice"}"#
        let tagged = #"#keep-me {"action":"a","username":"u"}"#
        let delivery = #"@0123 msg_x 2 w1 0.0 {"action":"a","username":"u"}"#
        let marked = #"!2 #t {"action":"a","username":"u"}"#
        // LPUSH a b c d: a is at the taking end.
        _ = try redis.command("LPUSH", "t:queue", raw, tagged, delivery, marked)

        let taken = try joinedQueue().take(max: 10, maxBytes: 1 << 20)

        XCTAssertEqual(taken.count, 4)
        let first = String(decoding: taken[0], as: UTF8.self)
        XCTAssertNotNil(first.range(of: #"^#[0-9a-z]{16}-1 "#, options: .regularExpression), first)
        XCTAssertTrue(first.hasSuffix(" " + raw))
        XCTAssertEqual(taken[1], Array(tagged.utf8))
        XCTAssertEqual(taken[2], Array(delivery.utf8))
        XCTAssertEqual(taken[3], Array(marked.utf8))
        XCTAssertEqual(try list("t:queue"), [])
        XCTAssertEqual(Set(try list("t:processing:w1")), Set(taken))
        XCTAssertEqual(try server.redisCLI("SMEMBERS", "t:holders"), "w1")
    }

    func testAnUnregisteredWorkerTakesNothing() throws {
        _ = try redis.command("LPUSH", "t:queue", "a")
        let queue = RedisQueue(url: server.url, prefix: prefix, workerID: "w1")
        XCTAssertThrowsError(try queue.take(max: 10, maxBytes: 1 << 20)) { error in
            XCTAssertEqual((error as? RedisError)?.code, .unregistered, "\(error)")
        }
        XCTAssertEqual(try server.redisCLI("LLEN", "t:queue"), "1")
        XCTAssertEqual(try server.redisCLI("EXISTS", "t:processing:w1"), "0")
    }

    func testTakeStopsAtTheByteBudgetButTakesAtLeastOne() throws {
        let big = String(repeating: "x", count: 1_000)
        _ = try redis.command("LPUSH", "t:queue", "1" + big, "2" + big, "3" + big, "4" + big)
        let queue = try joinedQueue()
        XCTAssertEqual(try queue.take(max: 10, maxBytes: 10).count, 1, "at least one, even over the budget")
        let two = try queue.take(max: 10, maxBytes: 2_500)
        XCTAssertEqual(two.count, 2)
        XCTAssertTrue(String(decoding: two[0], as: UTF8.self).hasSuffix(" 2" + big), "order kept")
        XCTAssertEqual(try list("t:queue").map { String(decoding: $0, as: UTF8.self) }, ["4" + big], "the rest stays, in order")
    }

    func testTakeFromAnEmptyQueueReturnsNothing() throws {
        let queue = try joinedQueue()
        XCTAssertEqual(try queue.take(max: 100, maxBytes: 1 << 20).count, 0)
        XCTAssertEqual(try queue.take(max: 0, maxBytes: 1 << 20).count, 0)
        XCTAssertEqual(try server.redisCLI("EXISTS", "t:processing:w1"), "0")
    }

    func testLargeTakeAndSettleCrossTheScriptChunkSize() throws {
        let producer = try EventProducer(url: server.url, prefix: prefix)
        let events = (0..<2_500).map { Array(#"{"action":"a","username":"u\#($0)"}"#.utf8) }
        try producer.enqueue(events)
        let queue = try joinedQueue()

        let taken = try queue.take(max: 3_000, maxBytes: 1 << 30)
        XCTAssertEqual(taken.count, 2_500)
        XCTAssertEqual(Set(taken).count, 2_500)
        for (index, item) in taken.enumerated() {  // oldest first: the producer's order
            XCTAssertTrue(item.ends(with: events[index]))
        }
        let settlements = taken.enumerated().map {
            Settlement(ack: $0.element, outcomes: [.retry(after: 100, item: Array("r\($0.offset)".utf8))])
        }
        let result = try queue.settle(settlements[...], deadMax: 0)
        XCTAssertEqual(result.written, 2_500)
        XCTAssertEqual(try server.redisCLI("LLEN", "t:processing:w1"), "0")
        XCTAssertEqual(try server.redisCLI("ZCARD", "t:delayed"), "2500")
    }

    // MARK: waitForWork

    func testWaitForWorkBlocksUntilAnotherConnectionPushesAndTakesNothing() throws {
        let url = server.url
        DispatchQueue.global().asyncAfter(deadline: .now() + 0.5) {
            let producer = try? EventProducer(url: url, prefix: "t")
            try? producer?.enqueue([Array("late".utf8)])
        }
        let queue = RedisQueue(url: server.url, prefix: prefix, workerID: "w1")
        let start = Date()
        XCTAssertTrue(try queue.waitForWork(timeout: 60))
        XCTAssertGreaterThan(Date().timeIntervalSince(start), 0.3)
        XCTAssertEqual(try server.redisCLI("LRANGE", "t:queue", "0", "-1"), "late")

        _ = try redis.command("LPUSH", "t:queue", "b", "c")
        let before = try list("t:queue")
        XCTAssertTrue(try queue.waitForWork(timeout: 60))
        XCTAssertEqual(try list("t:queue"), before, "order untouched")
    }

    func testWaitForWorkTimesOutOnAnEmptyQueue() throws {
        let queue = RedisQueue(url: server.url, prefix: prefix, workerID: "w1")
        let start = Date()
        XCTAssertFalse(try queue.waitForWork(timeout: 0.3))
        XCTAssertGreaterThan(Date().timeIntervalSince(start), 0.25)
        try queue.ping()  // the read timeout was restored
    }

    // MARK: settle

    func testSettleWritesEachEventsOutcomesAndRemovesIt() throws {
        _ = try redis.command("LPUSH", "t:queue", "a", "b", "c")
        let queue = try joinedQueue()
        let taken = try queue.take(max: 3, maxBytes: 1 << 20)
        let result = try queue.settle([
            Settlement(ack: taken[0], outcomes: [.retry(after: 60, item: Array("retry".utf8)), .dead(entry: Array("dead".utf8))]),
            Settlement(ack: taken[1], outcomes: [.requeue(item: Array("back".utf8))]),
        ][...], deadMax: 0)
        XCTAssertEqual(result, SettleResult(written: 2, fenced: 0, trimmed: 0))
        XCTAssertEqual(try list("t:processing:w1"), [taken[2]])
        XCTAssertEqual(try server.redisCLI("LRANGE", "t:queue", "0", "-1"), "back")
        XCTAssertEqual(try server.redisCLI("LRANGE", "t:dead", "0", "-1"), "dead")
        // The due time is Redis's now + 60 s.
        let time = try server.redisCLI("TIME").split(separator: "\n")
        let now = try XCTUnwrap(Double(time[0]))
        let score = try XCTUnwrap(Double(try server.redisCLI("ZSCORE", "t:delayed", "retry")))
        XCTAssertEqual(score, now + 60, accuracy: 5)
    }

    /// Items and records carrying CRLF, `$` and `*` (bytes RESP frames with) arrive byte for
    /// byte: the settle's fence finds the item, and its outcomes are written as given.
    func testASettleOfItemsHoldingRESPBytesIsWrittenByteForByte() throws {
        let item = "@0 msg_x 0 w1 0.0 {\"a\":\"\r\n$3\r\n*2\r\n\"}"
        _ = try redis.command("LPUSH", "t:queue", item)
        let queue = try joinedQueue()
        let taken = try queue.take(max: 1, maxBytes: 1 << 20)
        XCTAssertEqual(taken, [Array(item.utf8)])
        let dead = Array("dead\r\n$1\r\n".utf8) + [0, 255]
        let result = try queue.settle([Settlement(ack: taken[0], outcomes: [.dead(entry: dead)])][...], deadMax: 0)
        XCTAssertEqual(result, SettleResult(written: 1, fenced: 0, trimmed: 0))
        XCTAssertEqual(try redis.command("LLEN", "t:processing:w1").integer, 0)
        XCTAssertEqual(try redis.command("LINDEX", "t:dead", "0").bytes, dead)
    }

    /// An event's counts of outcomes and records travel as 3 bytes each (`Scripts.settle`):
    /// counts past 255 need all of them, and the event after it is read where it starts.
    func testAnEventWithHundredsOfOutcomesAndRecordsSettlesWhole() throws {
        _ = try redis.command("LPUSH", "t:queue", "a", "b")
        let queue = try joinedQueue()
        queue.attemptLog = AttemptLogConfiguration(maxRecords: 10_000)
        let taken = try queue.take(max: 2, maxBytes: 1 << 20)
        let many = Settlement(ack: taken[0], outcomes: (0..<300).map { .requeue(item: Array("back-\($0)".utf8)) },
                              log: (0..<270).map { Array("[1,\"r\($0)\"]".utf8) })
        let next = Settlement(ack: taken[1], outcomes: [.dead(entry: Array("dead".utf8))], log: [Array("[2,\"last\"]".utf8)])
        XCTAssertEqual(try queue.settle([many, next][...], deadMax: 0), SettleResult(written: 2, fenced: 0, trimmed: 0))
        XCTAssertEqual(try redis.command("LLEN", "t:queue").integer, 300)
        XCTAssertEqual(try redis.command("LLEN", "t:log").integer, 271)
        XCTAssertEqual(try server.redisCLI("LRANGE", "t:dead", "0", "-1"), "dead")
        XCTAssertEqual(try list("t:processing:w1"), [])
    }

    func testARetriedSettleWritesNothingTwice() throws {
        _ = try redis.command("LPUSH", "t:queue", "a")
        let queue = try joinedQueue()
        let taken = try queue.take(max: 1, maxBytes: 1 << 20)
        let batch = [Settlement(ack: taken[0], outcomes: [.dead(entry: Array("d".utf8)), .requeue(item: Array("q".utf8))])]
        XCTAssertEqual(try queue.settle(batch[...], deadMax: 0).written, 1)
        // The same settle again, as after a lost reply: fenced, nothing added.
        XCTAssertEqual(try queue.settle(batch[...], deadMax: 0), SettleResult(written: 0, fenced: 1, trimmed: 0))
        XCTAssertEqual(try server.redisCLI("LLEN", "t:dead"), "1")
        XCTAssertEqual(try server.redisCLI("LLEN", "t:queue"), "1")
    }

    func testOutOfMemoryRefusesAWholeSettleEvenWhenADeliveredEventComesFirst() throws {
        _ = try redis.command("LPUSH", "t:queue", "a", "b")
        let queue = try joinedQueue()
        let taken = try queue.take(max: 2, maxBytes: 1 << 20)
        XCTAssertEqual(try server.redisCLI("CONFIG", "SET", "maxmemory-policy", "noeviction"), "OK")
        XCTAssertEqual(try server.redisCLI("CONFIG", "SET", "maxmemory", "1"), "OK")
        // Delivered first, then one with a retry: a removal ahead of the write would let the
        // write through past maxmemory, and the outcome would be persisted while Redis is full.
        let batch = [Settlement(ack: taken[0]), Settlement(ack: taken[1], outcomes: [.retry(after: 60, item: Array("r".utf8))])]
        XCTAssertThrowsError(try queue.settle(batch[...], deadMax: 0)) { error in
            XCTAssertTrue("\(error)".contains("OOM"), "\(error)")
        }
        XCTAssertEqual(try server.redisCLI("CONFIG", "SET", "maxmemory", "0"), "OK")
        XCTAssertEqual(Set(try list("t:processing:w1")), Set(taken), "nothing was removed")
        XCTAssertEqual(try server.redisCLI("ZCARD", "t:delayed"), "0", "nothing was written")
        XCTAssertEqual(try queue.settle(batch[...], deadMax: 0).written, 2, "the same settle succeeds once memory is back")
    }

    func testSettleForAnItemAnotherWorkerNowHoldsIsFenced() throws {
        _ = try redis.command("LPUSH", "t:queue", "a")
        let queue = try joinedQueue()
        let taken = try queue.take(max: 1, maxBytes: 1 << 20)
        _ = try server.redisCLI("DEL", "t:processing:w1")  // as if reaped
        let result = try queue.settle([Settlement(ack: taken[0], outcomes: [.dead(entry: Array("d".utf8))])][...], deadMax: 0)
        XCTAssertEqual(result.fenced, 1)
        XCTAssertEqual(try server.redisCLI("LLEN", "t:dead"), "0")
    }

    func testDeadListIsCappedOldestFirst() throws {
        _ = try redis.command("LPUSH", "t:dead", "old1", "old2", "old3")
        _ = try redis.command("LPUSH", "t:queue", "a")
        let queue = try joinedQueue()
        let taken = try queue.take(max: 1, maxBytes: 1 << 20)
        let result = try queue.settle([Settlement(ack: taken[0], outcomes: [.dead(entry: Array("new".utf8))])][...], deadMax: 2)
        XCTAssertEqual(result.trimmed, 2)
        XCTAssertEqual(try server.redisCLI("LRANGE", "t:dead", "0", "-1"), "new\nold3")
    }

    func testReleaseReturnsOnlyItemsStillHeld() throws {
        _ = try redis.command("LPUSH", "t:queue", "a", "b")
        let queue = try joinedQueue()
        let taken = try queue.take(max: 2, maxBytes: 1 << 20)
        XCTAssertEqual(Set(try queue.processingItems()), Set(taken))
        XCTAssertEqual(try queue.release([taken[0], Array("never-taken".utf8)]), 1)
        XCTAssertEqual(try list("t:processing:w1"), [taken[1]])
        XCTAssertEqual(try list("t:queue"), [taken[0]])
    }

    // MARK: the delayed set

    func testPromoteDueMovesOnlyDueDeliveriesByRedisTime() throws {
        let now = try XCTUnwrap(Double(try server.redisCLI("TIME").split(separator: "\n")[0]))
        _ = try server.redisCLI("ZADD", "t:delayed", String(now - 10), "a", String(now - 5), "b", String(now + 3600), "c")
        let queue = RedisQueue(url: server.url, prefix: prefix, workerID: "w1")
        let first = try queue.promoteDue(limit: 10)
        XCTAssertEqual(first.moved, 2)
        XCTAssertEqual(try XCTUnwrap(first.nextDueIn), 3600, accuracy: 30)
        XCTAssertEqual(Set(try server.redisCLI("LRANGE", "t:queue", "0", "-1").split(separator: "\n")), ["a", "b"])
        XCTAssertEqual(try queue.promoteDue(limit: 10).moved, 0)
        _ = try server.redisCLI("ZREM", "t:delayed", "c")
        XCTAssertNil(try queue.promoteDue(limit: 10).nextDueIn)
    }

    func testConcurrentPromotersNeitherDuplicateNorLose() throws {
        let members = (0..<2_000).map { "@id\($0) 0 w http://a/ {}" }
        var zadd = ["ZADD", "t:delayed"]
        for (index, member) in members.enumerated() { zadd += [String(index), member] }
        _ = try redis.command(zadd.map { Array($0.utf8) })

        let url = server.url
        let failures = NSLock()
        nonisolated(unsafe) var errors: [String] = []
        DispatchQueue.concurrentPerform(iterations: 2) { index in
            let queue = RedisQueue(url: url, prefix: "t", workerID: "w\(index)")
            do {
                var rounds = 0  // bounded, so a promoter that never empties the set fails instead of hanging
                while try queue.promoteDue(limit: 37).moved == 37, rounds < 1_000 { rounds += 1 }
            } catch {
                failures.lock(); errors.append("\(error)"); failures.unlock()
            }
        }
        XCTAssertEqual(errors, [])
        let queued = try list("t:queue").map { String(decoding: $0, as: UTF8.self) }
        XCTAssertEqual(queued.count, 2_000)
        XCTAssertEqual(Set(queued), Set(members))
        XCTAssertEqual(try server.redisCLI("ZCARD", "t:delayed"), "0")
    }
}

extension Array where Element == UInt8 {
    func ends(with suffix: [UInt8]) -> Bool { count >= suffix.count && Array(self[(count - suffix.count)...]) == suffix }
}
