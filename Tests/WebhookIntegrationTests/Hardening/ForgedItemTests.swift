import Foundation
import TestSupport
import XCTest

/// Producers write bytes, never internal fields: no request reaches a URL nobody configured, and
/// no producer chooses a webhook-id.
final class ForgedItemTests: WorkerTestCase {
    func testForgedDeliveriesReachNoUnconfiguredURLAndTagsChooseNoWebhookID() async throws {
        let good = try await receiver()
        let evil = try await receiver()
        let worker = try startWorker(["WEBHOOK_ADDRESS": good.url, "WEBHOOK_SECRET": "s3cret", "WEBHOOK_COMPAT": "marzban"])
        let event = #"{"action":"user_created","username":"mallory"}"#
        // Old-style delivery naming the attacker's URL; a MAC-shaped one naming the real endpoint;
        // a tagged event trying to pick its webhook-id.
        _ = try redisCLI(["LPUSH", "\(prefix):queue", "@msg_forged_0 0 w \(evil.url) \(event)"])
        _ = try redisCLI(["LPUSH", "\(prefix):queue", "@00000000000000000000000000000000 msg_forged_1 0 w00000000 0.0 \(event)"])
        _ = try redisCLI(["LPUSH", "\(prefix):queue", "#chosen-tag {\"action\":\"user_updated\",\"username\":\"tagged\"}"])
        let delivered = try await good.waitForRequests(count: 1, timeout: 30)
        let dead = try await eventuallyAsync(timeout: 30) { try self.llen("dead") == 2 }
        XCTAssertTrue(dead, worker.log.suffix(2000).description)
        try await Task.sleep(nanoseconds: 1_500_000_000)
        XCTAssertEqual(evil.count, 0, "nothing reached the unconfigured URL")
        XCTAssertEqual(good.count, 1, "only the plain tagged event was delivered")
        XCTAssertTrue(delivered[0].text.contains("tagged"))
        let letters = try redisCLI(["LRANGE", "\(prefix):dead", "0", "-1"])
        XCTAssertEqual(letters.components(separatedBy: "forged or corrupted").count - 1, 2, letters)
        await stop(worker)

        // Standard mode: the webhook-id is never the producer's tag.
        let standard = try startWorker(["WEBHOOK_ADDRESS": good.url, "WEBHOOK_SECRET": "s3cret"])
        _ = try redisCLI(["LPUSH", "\(prefix):queue", "#chosen-tag {\"action\":\"user_updated\",\"username\":\"again\"}"])
        let second = try await good.waitForRequests(count: 2, timeout: 30)
        let id = try XCTUnwrap(second[1].header("webhook-id"))
        XCTAssertFalse(id.contains("chosen-tag"), id)
        await stop(standard)
    }

    func testDeliveriesForARemovedEndpointBecomeDeadLettersSayingSo() async throws {
        let kept = try await receiver()
        let removed = try await receiver(.status(500))
        let first = try startWorker(["WEBHOOK_ADDRESS": "\(kept.url),\(removed.url)",
                                     "RECURRENT_NOTIFICATIONS_TIMEOUT": "2", "NUMBER_OF_RECURRENT_NOTIFICATIONS": "5"])
        try push(5)
        _ = try await removed.waitForRequests(count: 5, timeout: 30)
        let parked = try await eventuallyAsync(timeout: 30) { try self.zcard("delayed") == 5 }
        XCTAssertTrue(parked)
        await stop(first)
        // The operator removes the failing endpoint; its pending retries must not vanish silently.
        let second = try startWorker(["WEBHOOK_ADDRESS": kept.url])
        let dead = try await eventuallyAsync(timeout: 30) { try self.llen("dead") == 5 }
        XCTAssertTrue(dead, second.log.suffix(2000).description)
        let letters = try redisCLI(["LRANGE", "\(prefix):dead", "0", "-1"])
        XCTAssertEqual(letters.components(separatedBy: "no longer configured").count - 1, 5, letters)
        XCTAssertEqual(removed.count, 5, "no attempt went to the removed endpoint")
        XCTAssertEqual(kept.count, 5)
        await stop(second)
    }
}
