import Foundation
import TestSupport
import WebhookRedis
import XCTest

/// Per-endpoint retries with Marzban's counting, and dead letters.
final class RetryAndDeadLetterTests: WorkerTestCase {
    private func deadLetters() async throws -> [[String: Any]] {
        let result = try await command(["dead", "list", "--json", "--limit", "100"])
        XCTAssertEqual(result.status, 0, result.stderr)
        return try result.stdout.split(separator: "\n").filter { $0.hasPrefix("{") }.map {
            try XCTUnwrap(JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
        }
    }

    /// Waits until nothing is queued, parked or held: no further attempt can come.
    private func waitUntilSettled(dead: Int, timeout: Double = 30) async throws {
        try await waitFor("dead=\(dead), queue, delayed and processing empty", timeout: timeout, {
            ["dead": try llen("dead"), "queue": try llen("queue"), "delayed": try zcard("delayed"),
             "processing": try processingTotal()]
        }, until: { $0 == ["dead": dead, "queue": 0, "delayed": 0, "processing": 0] })
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
            XCTAssertGreaterThanOrEqual(later.arrival - earlier.arrival, 0.95, "RECURRENT_NOTIFICATIONS_TIMEOUT between attempts")
        }
        try await waitUntilSettled(dead: 1)
        XCTAssertEqual(failing.count, 3, "N+1 attempts, no more")
        XCTAssertEqual(healthy.count, 1, "the other endpoint got its copy once, unaffected")

        let letters = try await deadLetters()
        let letter = try XCTUnwrap(letters.first)
        XCTAssertEqual(letter["endpoint"] as? String, failing.url)
        XCTAssertEqual(letter["attempts"] as? Int, 3)
        XCTAssertEqual(letter["last_status"] as? Int, 500)
        XCTAssertNotNil(letter["failed_at"] as? Double)
        XCTAssertFalse((letter["reason"] as? String ?? "").isEmpty)
        XCTAssertEqual((letter["payload"] as? [String: Any])?["username"] as? String, "user-0")
        await stop(worker)
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
        try await waitUntilSettled(dead: 2)
        XCTAssertEqual(gone.count, 1, "410 ends that endpoint's attempts at once")
        XCTAssertEqual(moved.count, 2, "a redirect is a failed attempt, not followed")
        let reasons = try await deadLetters().map { "\($0["endpoint"] ?? "") \($0["reason"] ?? "")" }
        XCTAssertTrue(reasons.contains { $0.contains(gone.url) && $0.contains("410") }, "\(reasons)")
        await stop(worker)
    }

    func testRetryAfterIsHonouredOn503() async throws {
        let busy = try await receiver(.respond { _, index in
            index == 0 ? .retryAfter("2", status: 503) : .status(200)
        })
        let worker = try startWorker([
            "WEBHOOK_ADDRESS": busy.url, "RECURRENT_NOTIFICATIONS_TIMEOUT": "600",
        ])
        try push(1)
        let attempts = try await busy.waitForRequests(count: 2, timeout: 60)
        let gap = attempts[1].arrival - attempts[0].arrival
        XCTAssertGreaterThanOrEqual(gap, 1.95, "waited the Retry-After")
        XCTAssertEqual(try json(attempts[1])["tries"] as? Int, 1)
        await stop(worker)
    }

    func testRetryScheduleSetsDelaysAndCount() async throws {
        let failing = try await receiver(.status(502))
        let worker = try startWorker([
            "WEBHOOK_ADDRESS": failing.url, "WEBHOOK_RETRY_SCHEDULE": "1s,3s",
            "JOB_SEND_NOTIFICATIONS_INTERVAL": "0.2",
        ])
        try push(1)
        let attempts = try await failing.waitForRequests(count: 3, timeout: 60)
        let gaps = zip(attempts, attempts.dropFirst()).map { $1.arrival - $0.arrival }
        // Lower bounds are the schedule (±20 % jitter); upper bounds only catch a wrong entry.
        XCTAssertGreaterThanOrEqual(gaps[0], 0.8 - 0.05, "first retry after 1 s - 20 %")
        XCTAssertLessThan(gaps[0], 2.4 - 0.05, "the first retry uses the first entry, not the second")
        XCTAssertGreaterThanOrEqual(gaps[1], 2.4 - 0.05, "second retry after 3 s - 20 %")
        try await waitUntilSettled(dead: 1)
        XCTAssertEqual(failing.count, 3, "the schedule's length is the number of retries")
        await stop(worker)
    }

    func testDeadLettersCanBeListedReplayedAndPurged() async throws {
        let flaky = try await receiver(.status(500))
        let worker = try startWorker([
            "WEBHOOK_ADDRESS": flaky.url, "NUMBER_OF_RECURRENT_NOTIFICATIONS": "0",
        ])
        try push(3)
        try await waitUntilSettled(dead: 3)
        let listing = try await command(["dead", "list"])
        XCTAssertEqual(listing.status, 0, listing.stderr)
        XCTAssertTrue(listing.stdout.contains(flaky.url), listing.stdout)
        // The webhook-id each event had on its failed attempt.
        var firstIDs: [String: String] = [:]
        for request in flaky.requests {
            firstIDs[try XCTUnwrap(json(request)["username"] as? String)] = try XCTUnwrap(request.header("webhook-id"))
        }
        XCTAssertEqual(firstIDs.count, 3)

        flaky.setBehaviour(.status(200))
        let one = try await command(["dead", "replay", "0"])
        XCTAssertEqual(one.status, 0, one.stderr)
        let afterOne = try await flaky.waitForRequests(count: 4, timeout: 30)
        try await waitUntilSettled(dead: 2)
        let replayed = afterOne[3]
        let replayedUser = try XCTUnwrap(json(replayed)["username"] as? String)
        XCTAssertEqual(try json(replayed)["tries"] as? Int, 0, "tries reset on replay")
        XCTAssertEqual(replayed.header("webhook-id"), firstIDs[replayedUser],
                       "a replayed delivery keeps its webhook-id, so receivers can deduplicate")

        let all = try await command(["dead", "replay"])
        XCTAssertEqual(all.status, 0, all.stderr)
        let afterAll = try await flaky.waitForRequests(count: 6, timeout: 30)
        try await waitUntilSettled(dead: 0)
        XCTAssertEqual(flaky.count, 6)
        XCTAssertEqual(Set(try usernames(Array(afterAll.suffix(3)))), ["user-0", "user-1", "user-2"])
        for request in afterAll.suffix(3) {
            XCTAssertEqual(request.header("webhook-id"), firstIDs[try XCTUnwrap(json(request)["username"] as? String)])
        }

        flaky.setBehaviour(.status(500))
        try push(2)
        try await waitUntilSettled(dead: 2)
        let purge = try await command(["dead", "purge"])
        XCTAssertEqual(purge.status, 0, purge.stderr)
        XCTAssertTrue(purge.stdout.contains("2"), purge.stdout)
        XCTAssertEqual(try llen("dead"), 0)
        await stop(worker)
    }

    func testIdenticalPayloadsStayDistinctInTheDelayedSet() async throws {
        let failing = try await receiver(.status(500))
        let worker = try startWorker([
            "WEBHOOK_ADDRESS": failing.url, "RECURRENT_NOTIFICATIONS_TIMEOUT": "600",
        ])
        let event = #"{"username":"same","action":"user_updated","enqueued_at":1.5}"#
        try lpush(Array(repeating: event, count: 5))
        try await waitFor("five retries parked, not one", timeout: 30, { try zcard("delayed") }, until: { $0 == 5 })
        XCTAssertEqual(failing.count, 5)
        await stop(worker)
    }

    /// WEBHOOK_DEAD_MAX caps the dead list: the oldest dead letters are dropped, and
    /// webhook_dead_trimmed_total counts exactly the dropped ones.
    func testDeadMaxKeepsTheNewestDeadLettersAndCountsTheDroppedOnes() async throws {
        let failing = try await receiver(.status(500))
        let (worker, base) = try await startWorkerWithMetrics([
            "WEBHOOK_ADDRESS": failing.url, "NUMBER_OF_RECURRENT_NOTIFICATIONS": "0", "WEBHOOK_DEAD_MAX": "3",
        ])
        func trimmed() async throws -> Double? {
            PrometheusText(try await HTTPCall.get("\(base)/metrics").text).value("webhook_dead_trimmed_total")
        }
        try push(5)
        _ = try await failing.waitForRequests(count: 5, timeout: 30)
        try await waitFor("5 dead, 2 of them dropped", { [try self.llen("dead"), Int(try await trimmed() ?? -1)] },
                          until: { $0 == [3, 2] })
        // Three newer ones push out the three older ones that are left.
        let now = Date().timeIntervalSince1970
        try producer().enqueue(try (0..<3).map { try EventProducer.event(action: "user_created", username: "late-\($0)", now: now) })
        _ = try await failing.waitForRequests(count: 8, timeout: 30)
        try await waitUntilSettled(dead: 3)
        try await waitFor("5 dropped in all", { try await trimmed() }, until: { $0 == 5 })
        let kept = try await deadLetters().map { ($0["payload"] as? [String: Any])?["username"] as? String }
        XCTAssertEqual(Set(kept), ["late-0", "late-1", "late-2"], "the newest are kept")
        XCTAssertTrue(worker.log.contains("dead list over WEBHOOK_DEAD_MAX"), worker.log.suffix(2000).description)
        await stop(worker)
    }

    /// `dead replay --index N`, `--endpoint NAME` and `--all` each move exactly the dead letters
    /// they name back to the queue (the rest stay dead), and what they moved is delivered to its
    /// own endpoint under its webhook-id.
    func testEachReplaySelectorReplaysExactlyWhatItNames() async throws {
        let a = try await receiver(.status(500)), b = try await receiver(.status(500))
        let file = try endpointsFile("""
            endpoints:
              - name: a
                url: \(a.url)
              - name: b
                url: \(b.url)
            """)
        let environment = ["WEBHOOK_ENDPOINTS_FILE": file, "NUMBER_OF_RECURRENT_NOTIFICATIONS": "0"]
        let first = try startWorker(environment)
        try push(3)
        try await waitUntilSettled(dead: 6)
        await stop(first)
        // Position, id, endpoint and webhook-id of each dead letter, as `dead list` numbers them.
        let letters = try await deadLetters().map {
            (id: $0["id"] as? String ?? "", endpoint: $0["endpoint_name"] as? String ?? "", webhookID: $0["webhook_id"] as? String ?? "")
        }
        XCTAssertEqual(letters.filter { $0.endpoint == "a" }.count, 3)
        XCTAssertEqual(letters.filter { $0.endpoint == "b" }.count, 3)
        func deadIDs() async throws -> [String] { try await deadLetters().map { $0["id"] as? String ?? "" } }

        let index = try await command(["dead", "replay", "--index", "2"], environment)
        XCTAssertEqual(index.status, 0, index.stderr)
        XCTAssertTrue(index.stdout.contains("replayed 1"), index.stdout)
        var replayed = [letters[2]]
        let afterIndex = try await deadIDs()
        XCTAssertEqual(afterIndex, letters.map(\.id).filter { $0 != letters[2].id }, "only position 2 left")
        XCTAssertEqual(try llen("queue"), 1)

        let byEndpoint = try await command(["dead", "replay", "--endpoint", "a"], environment)
        XCTAssertEqual(byEndpoint.status, 0, byEndpoint.stderr)
        let ofA = letters.enumerated().filter { $0.offset != 2 && $0.element.endpoint == "a" }.map(\.element)
        XCTAssertTrue(byEndpoint.stdout.contains("replayed \(ofA.count)"), byEndpoint.stdout)
        replayed += ofA
        let left = letters.filter { letter in !replayed.contains { $0.id == letter.id } }
        let afterEndpoint = try await deadIDs()
        XCTAssertEqual(afterEndpoint, left.map(\.id), "only a's left the dead list")
        XCTAssertTrue(left.allSatisfy { $0.endpoint == "b" })
        XCTAssertEqual(try llen("queue"), replayed.count)

        let all = try await command(["dead", "replay", "--all"], environment)
        XCTAssertEqual(all.status, 0, all.stderr)
        XCTAssertTrue(all.stdout.contains("replayed \(left.count)"), all.stdout)
        XCTAssertEqual(try llen("dead"), 0)
        XCTAssertEqual(try llen("queue"), 6)

        // Delivered to their own endpoints, under the webhook-ids they died with.
        a.setBehaviour(.status(200))
        b.setBehaviour(.status(200))
        let second = try startWorker(environment)
        try await waitUntilSettled(dead: 0)
        for (receiver, name) in [(a, "a"), (b, "b")] {
            let redelivered = receiver.requests.suffix(from: 3).compactMap { $0.header("webhook-id") }
            XCTAssertEqual(redelivered.count, 3, name)
            XCTAssertEqual(Set(redelivered), Set(letters.filter { $0.endpoint == name }.map(\.webhookID)), name)
        }
        await stop(second)
    }
}
