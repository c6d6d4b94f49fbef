import Foundation
import TestSupport
import XCTest

/// Replies lost between Redis and the worker (a proxy that closes the connection after Redis
/// has acted): outcomes are written once, taken items are not stranded.
final class LostReplyTests: WorkerTestCase {
    func testALostSettleReplyWritesEachOutcomeOnce() async throws {
        let failing = try await receiver(.status(500))
        // The settle that carries dead letters is the one whose reply is lost.
        let proxy = try ReplyDroppingProxy(upstreamPort: redis.port, marker: "gave up after")
        defer { proxy.stop() }
        let worker = try startWorker(["WEBHOOK_ADDRESS": failing.url, "NUMBER_OF_RECURRENT_NOTIFICATIONS": "0",
                                      "REDIS_URL": "redis://127.0.0.1:\(proxy.port)/0"])
        try push(20)
        let dead = try await eventuallyAsync(timeout: 30) { try self.llen("dead") >= 20 }
        XCTAssertTrue(dead, worker.log.suffix(2000).description)
        try await Task.sleep(nanoseconds: 2_000_000_000)
        XCTAssertEqual(try llen("dead"), 20, "each dead letter written once")
        XCTAssertTrue(worker.log.contains("settling failed"), "the fault happened:\n\(worker.log.suffix(3000))")
        XCTAssertEqual(try processingTotal(), 0)
        await stop(worker)
    }

    func testALostTakeReplyStrandsNothingInALiveWorker() async throws {
        let sink = try await receiver()
        // The first script call with a reply over 200 bytes (a take that returned items) is lost.
        let proxy = try ReplyDroppingProxy(upstreamPort: redis.port, marker: "EVALSHA", minReplyBytes: 200)
        defer { proxy.stop() }
        try push(50)
        let worker = try startWorker(["WEBHOOK_ADDRESS": sink.url, "REDIS_URL": "redis://127.0.0.1:\(proxy.port)/0"])
        let delivered = try await eventuallyAsync(timeout: 30) { Set(try self.usernames(sink.requests)).count == 50 }
        XCTAssertTrue(delivered, "got \(sink.count)\n\(worker.log.suffix(3000))")
        let empty = try await eventuallyAsync(timeout: 20) { try self.processingTotal() == 0 && self.llen("queue") == 0 }
        XCTAssertTrue(empty, "nothing stranded while the worker lives")
        XCTAssertTrue(worker.isRunning)
        XCTAssertTrue(worker.log.contains("lost reply"), "the fault happened and was reconciled:\n\(worker.log.suffix(3000))")
        await stop(worker)
    }
}
