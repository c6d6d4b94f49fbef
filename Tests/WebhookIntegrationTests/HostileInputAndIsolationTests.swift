import Foundation
import TestSupport
import XCTest

/// Bad events become dead letters with a reason; a hung endpoint does not delay the others.
final class HostileInputAndIsolationTests: WorkerTestCase {
    func testHostileInputBecomesDeadLettersAndTheWorkerGoesOn() async throws {
        let a = try await receiver()
        let worker = try startWorker(["WEBHOOK_ADDRESS": a.url, "WEBHOOK_MAX_PAYLOAD_BYTES": "1000"])
        let big = #"{"username":"big","action":"user_created","pad":""# + String(repeating: "x", count: 2000) + #""}"#
        try lpush(["not json", "[1,2,3]", #"{"username":"nobody"}"#, big])
        // Invalid UTF-8 (a lone 0xff byte), sent raw through redis-cli's -x (value from stdin).
        _ = try redis.cli.run(["LPUSH", "\(prefix):queue"], stdin: [0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0x22, 0x7d])
        try push(1)

        _ = try await a.waitForRequests(count: 1, timeout: 30)
        try await waitFor("five dead letters", { try llen("dead") }, until: { $0 == 5 })
        let listing = try await command(["dead", "list", "--json"])
        let reasons = listing.stdout.split(separator: "\n").compactMap {
            (try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])?["reason"] as? String
        }
        XCTAssertEqual(reasons.count, 5, listing.stdout)
        let all = reasons.joined(separator: " | ").lowercased()
        for word in ["json", "object", "action", "utf-8", "large"] {
            XCTAssertTrue(all.contains(word), "a reason mentions '\(word)': \(all)")
        }
        XCTAssertTrue(worker.isRunning)
        XCTAssertTrue(worker.log.contains("malformed"), "a log line per bad event")
        XCTAssertEqual(a.count, 1, "only the valid event was delivered")
        await stop(worker)
    }

    func testAHungEndpointDoesNotDelayTheOther() async throws {
        let hung = try await receiver(.hang), healthy = try await receiver()
        let worker = try startWorker([
            "WEBHOOK_ADDRESS": "\(hung.url),\(healthy.url)", "WEBHOOK_TIMEOUT": "5",
            "RECURRENT_NOTIFICATIONS_TIMEOUT": "600",
        ])
        try await waitUntilRegistered()
        let pushed = Date()
        try push(500)
        _ = try await healthy.waitForRequests(count: 500, timeout: 60)
        let elapsed = Date().timeIntervalSince(pushed)
        // Generous: the property is that the healthy endpoint does not wait for the hung one's
        // timeouts (500 events, 48 at a time, 5 s each would be about a minute).
        XCTAssertLessThan(elapsed, 30, "500 events reached the healthy endpoint within seconds")
        XCTAssertEqual(Set(try usernames(healthy.requests)).count, 500)
        // None of the hung endpoint's deliveries is lost: each is parked for retry (timed out,
        // or deferred because the endpoint lags) or, at the stop, handed back to the queue.
        // (Waiting for every one to time out would take 500 / 48 rounds of 5 s.)
        await stop(worker)
        XCTAssertEqual(try zcard("delayed") + llen("queue"), 500, "every hung delivery kept")
        XCTAssertEqual(try processingTotal(), 0)
        XCTAssertEqual(try llen("dead"), 0)
    }
}
