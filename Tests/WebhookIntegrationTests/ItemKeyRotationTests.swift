import Foundation
import TestSupport
import WebhookCore
import XCTest

/// WEBHOOK_ITEM_KEY authenticates the worker's own queue items (retries, hand-backs) apart from
/// WEBHOOK_SECRET, so the signing secret can be rotated while retries are pending.
final class ItemKeyRotationTests: WorkerTestCase {
    private let itemKey = "item-key-shared-by-the-fleet"

    /// A worker with `first` settings fails two events and leaves their retries in the delayed
    /// set, then stops; a worker with `second` settings starts while they are pending.
    private func rotate(_ first: [String: String], _ second: [String: String]) async throws
        -> (receiver: HTTPReceiver, worker: WorkerProcess) {
        let hook = try await receiver(.status(500))
        let before = try startWorker(first.merging(["WEBHOOK_ADDRESS": hook.url, "RECURRENT_NOTIFICATIONS_TIMEOUT": "4"]) { $1 })
        try push(2)
        _ = try await hook.waitForRequests(count: 2, timeout: 30)
        try await waitFor("2 retries pending", { try self.zcard("delayed") }, until: { $0 == 2 })
        await stop(before)
        hook.setBehaviour(.status(200))
        let after = try startWorker(second.merging(["WEBHOOK_ADDRESS": hook.url]) { $1 })
        return (hook, after)
    }

    func testPendingRetriesSurviveASecretRotationUnderTheSameItemKey() async throws {
        let (hook, worker) = try await rotate(["WEBHOOK_SECRET": "first-secret", "WEBHOOK_ITEM_KEY": itemKey],
                                              ["WEBHOOK_SECRET": "second-secret", "WEBHOOK_ITEM_KEY": itemKey])
        let requests = try await hook.waitForRequests(count: 4, timeout: 30)
        try await waitFor("settled", { [try self.llen("dead"), try self.zcard("delayed"), try self.processingTotal()] },
                          until: { $0 == [0, 0, 0] })
        let retries = Array(requests.suffix(2))
        XCTAssertEqual(Set(try usernames(retries)), ["user-0", "user-1"])
        XCTAssertTrue(try retries.allSatisfy { try json($0)["tries"] as? Int == 1 }, "the pending retries, tries kept")
        for retry in retries {
            // Signed with the new secret, not the old one.
            let id = try XCTUnwrap(retry.header("webhook-id")), timestamp = try XCTUnwrap(retry.header("webhook-timestamp"))
            let signature = try XCTUnwrap(retry.header("webhook-signature"))
            XCTAssertTrue(signature.contains(standardSignature(id: id, timestamp: timestamp, body: retry.body, secret: "second-secret")),
                          signature)
            XCTAssertFalse(signature.contains(standardSignature(id: id, timestamp: timestamp, body: retry.body, secret: "first-secret")),
                           signature)
        }
        XCTAssertEqual(hook.count, 4, "each retry once")
        await stop(worker)
    }

    /// The contrast: without WEBHOOK_ITEM_KEY the items are keyed by the secret, so after the
    /// rotation the pending retries no longer verify and are refused as forged.
    func testWithoutAnItemKeyARotationRefusesThePendingRetries() async throws {
        let (hook, worker) = try await rotate(["WEBHOOK_SECRET": "first-secret"], ["WEBHOOK_SECRET": "second-secret"])
        try await waitFor("2 dead letters", { try self.llen("dead") }, until: { $0 == 2 })
        let letters = try redis.cli.lines(["LRANGE", "\(prefix):dead", "0", "-1"]).map { try DeadLetter(decoding: Array($0.utf8)) }
        XCTAssertTrue(letters.allSatisfy { $0.reason.contains("forged or corrupted") }, letters.map(\.reason).description)
        XCTAssertEqual(hook.count, 2, "no retry was sent")
        await stop(worker)
    }
}
