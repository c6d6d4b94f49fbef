import Foundation
import TestSupport
import XCTest

/// Per-endpoint retries with Marzban's counting, and dead letters.
final class RetryAndDeadLetterTests: WorkerTestCase {
    private func deadLetters() throws -> [[String: Any]] {
        let output = try cli(["dead", "list", "--json", "--limit", "100"]).output
        return try output.split(separator: "\n").filter { $0.hasPrefix("{") }.map {
            try XCTUnwrap(JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
        }
    }

    func testRetriesFollowMarzbanCountingPerEndpoint() async throws {
        let failing = try await receiver(.status(500)), healthy = try await receiver()
        let worker = try startWorker([
            "WEBHOOK_ADDRESS": "\(failing.url),\(healthy.url)", "WEBHOOK_SECRET": "s",
            "NUMBER_OF_RECURRENT_NOTIFICATIONS": "2", "RECURRENT_NOTIFICATIONS_TIMEOUT": "1",
        ])
        try push(1)
        let attempts = try await failing.waitForRequests(count: 3, timeout: 30)
        XCTAssertEqual(try attempts.map { try json($0)["tries"] as? Int }, [0, 1, 2])
        XCTAssertEqual(Set(attempts.compactMap { $0.header("webhook-id") }).count, 1, "same webhook-id on every retry")
        for (earlier, later) in zip(attempts, attempts.dropFirst()) {
            XCTAssertGreaterThanOrEqual(later.arrival - earlier.arrival, 0.9, "RECURRENT_NOTIFICATIONS_TIMEOUT between attempts")
        }
        XCTAssertTrue(try eventually(timeout: 20) { try llen("dead") == 1 })
        try await Task.sleep(for: .seconds(1.5))
        XCTAssertEqual(failing.count, 3, "N+1 attempts, no more")
        XCTAssertEqual(healthy.count, 1, "the other endpoint got its copy once, unaffected")

        let letter = try XCTUnwrap(try deadLetters().first)
        XCTAssertEqual(letter["endpoint"] as? String, failing.url)
        XCTAssertEqual(letter["attempts"] as? Int, 3)
        XCTAssertEqual(letter["last_status"] as? Int, 500)
        XCTAssertNotNil(letter["failed_at"] as? Double)
        XCTAssertFalse((letter["reason"] as? String ?? "").isEmpty)
        XCTAssertEqual((letter["payload"] as? [String: Any])?["username"] as? String, "user-0")
        XCTAssertEqual(try zcard("delayed"), 0)
        stopCleanly(worker)
    }

    func testGoneEndsAttemptsAtOnceAndRedirectCountsAsFailure() async throws {
        let gone = try await receiver(.status(410))
        let moved = try await receiver(.respond { _, _ in .redirect(to: "http://127.0.0.1:9/elsewhere") })
        let worker = try startWorker([
            "WEBHOOK_ADDRESS": "\(gone.url),\(moved.url)",
            "NUMBER_OF_RECURRENT_NOTIFICATIONS": "1", "RECURRENT_NOTIFICATIONS_TIMEOUT": "1",
        ])
        try push(1)
        _ = try await moved.waitForRequests(count: 2, timeout: 30)
        XCTAssertTrue(try eventually(timeout: 20) { try llen("dead") == 2 })
        XCTAssertEqual(gone.count, 1, "410 ends that endpoint's attempts at once")
        XCTAssertEqual(moved.count, 2, "a redirect is a failed attempt, not followed")
        let reasons = try deadLetters().map { "\($0["endpoint"] ?? "") \($0["reason"] ?? "")" }
        XCTAssertTrue(reasons.contains { $0.contains(gone.url) && $0.contains("410") }, "\(reasons)")
        stopCleanly(worker)
    }

    func testRetryAfterIsHonouredOn503() async throws {
        let busy = try await receiver(.respond { _, index in
            index == 0 ? .retryAfter("2", status: 503) : .status(200)
        })
        let worker = try startWorker([
            "WEBHOOK_ADDRESS": busy.url, "RECURRENT_NOTIFICATIONS_TIMEOUT": "600",
        ])
        try push(1)
        let attempts = try await busy.waitForRequests(count: 2, timeout: 30)
        let gap = attempts[1].arrival - attempts[0].arrival
        XCTAssertGreaterThanOrEqual(gap, 1.9, "waited the Retry-After")
        XCTAssertLessThan(gap, 30, "Retry-After replaced the 600 s delay")
        XCTAssertEqual(try json(attempts[1])["tries"] as? Int, 1)
        stopCleanly(worker)
    }

    func testRetryScheduleSetsDelaysAndCount() async throws {
        let failing = try await receiver(.status(502))
        let worker = try startWorker([
            "WEBHOOK_ADDRESS": failing.url, "WEBHOOK_RETRY_SCHEDULE": "1s,3s",
            "JOB_SEND_NOTIFICATIONS_INTERVAL": "0.2",
        ])
        try push(1)
        let attempts = try await failing.waitForRequests(count: 3, timeout: 30)
        let gaps = zip(attempts, attempts.dropFirst()).map { $1.arrival - $0.arrival }
        XCTAssertEqual(gaps[0], 1, accuracy: 0.45, "1 s ± 20 % (+ poll)")
        XCTAssertEqual(gaps[1], 3, accuracy: 0.9, "3 s ± 20 % (+ poll)")
        XCTAssertTrue(try eventually(timeout: 10) { try llen("dead") == 1 })
        XCTAssertEqual(failing.count, 3, "the schedule's length is the number of retries")
        stopCleanly(worker)
    }

    func testDeadLettersCanBeListedReplayedAndPurged() async throws {
        let flaky = try await receiver(.status(500))
        let worker = try startWorker([
            "WEBHOOK_ADDRESS": flaky.url, "NUMBER_OF_RECURRENT_NOTIFICATIONS": "0",
        ])
        try push(3)
        XCTAssertTrue(try eventually(timeout: 20) { try llen("dead") == 3 })
        let listing = try cli(["dead", "list"])
        XCTAssertEqual(listing.status, 0)
        XCTAssertTrue(listing.output.contains(flaky.url), listing.output)

        flaky.setBehaviour(.status(200))
        let firstID = flaky.requests.first?.header("webhook-id")
        let one = try cli(["dead", "replay", "0"])
        XCTAssertEqual(one.status, 0, one.output)
        XCTAssertTrue(try eventually(timeout: 20) { try llen("dead") == 2 && flaky.count == 4 })
        let replayed = try XCTUnwrap(flaky.requests.last)
        XCTAssertEqual(try json(replayed)["tries"] as? Int, 0, "tries reset on replay")
        XCTAssertNotNil(firstID)

        let all = try cli(["dead", "replay"])
        XCTAssertEqual(all.status, 0, all.output)
        XCTAssertTrue(try eventually(timeout: 20) { try llen("dead") == 0 && flaky.count == 6 })
        XCTAssertEqual(Set(try usernames(Array(flaky.requests.suffix(3)))).count, 3)

        flaky.setBehaviour(.status(500))
        try push(2)
        XCTAssertTrue(try eventually(timeout: 20) { try llen("dead") == 2 })
        let purge = try cli(["dead", "purge"])
        XCTAssertEqual(purge.status, 0)
        XCTAssertTrue(purge.output.contains("2"), purge.output)
        XCTAssertEqual(try llen("dead"), 0)
        stopCleanly(worker)
    }

    func testIdenticalPayloadsStayDistinctInTheDelayedSet() async throws {
        let failing = try await receiver(.status(500))
        let worker = try startWorker([
            "WEBHOOK_ADDRESS": failing.url, "RECURRENT_NOTIFICATIONS_TIMEOUT": "600",
        ])
        let event = #"{"username":"same","action":"user_updated","enqueued_at":1.5}"#
        for _ in 0..<5 { _ = try redisCLI(["LPUSH", "\(prefix):queue", event]) }
        XCTAssertTrue(try eventually(timeout: 20) { try zcard("delayed") == 5 }, "five retries, not one")
        stopCleanly(worker)
    }
}
