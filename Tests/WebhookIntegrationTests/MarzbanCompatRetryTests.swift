import Foundation
import TestSupport
import XCTest

/// WEBHOOK_COMPAT=marzban with one failing endpoint: the failing endpoint's arrays carry each
/// event with `tries` 0, 1, ... N; the healthy endpoint gets every event exactly once.
final class MarzbanCompatRetryTests: WorkerTestCase {
    func testFailingEndpointRetriesInArraysWhileTheHealthyOneGetsEachEventOnce() async throws {
        let events = 5, retries = 2
        let failing = try await receiver(.status(500)), healthy = try await receiver()
        try push(events)
        let worker = try startWorker([
            "WEBHOOK_ADDRESS": "\(failing.url),\(healthy.url)", "WEBHOOK_SECRET": "raw-secret",
            "WEBHOOK_COMPAT": "marzban", "NUMBER_OF_RECURRENT_NOTIFICATIONS": "\(retries)",
            "RECURRENT_NOTIFICATIONS_TIMEOUT": "1",
        ])
        // Every attempt is over when each event is a dead letter for the failing endpoint and
        // nothing is queued, parked or held.
        try await waitFor("\(events) dead letters, nothing pending", timeout: 60, {
            [try llen("dead"), try llen("queue"), try zcard("delayed"), try processingTotal()]
        }, until: { $0 == [events, 0, 0, 0] })

        var triesByUser: [String: [Int]] = [:]
        for element in try elements(failing.requests) {
            let user = try XCTUnwrap(element["username"] as? String)
            triesByUser[user, default: []].append(try XCTUnwrap(element["tries"] as? Int))
        }
        XCTAssertEqual(triesByUser.count, events)
        for (user, tries) in triesByUser {
            XCTAssertEqual(tries, Array(0...retries), "\(user): one attempt per try, in order")
        }
        let healthyNames = try elements(healthy.requests).map { try XCTUnwrap($0["username"] as? String) }
        XCTAssertEqual(healthyNames.sorted(), (0..<events).map { "user-\($0)" }.sorted(), "each event exactly once")
        XCTAssertTrue(try elements(healthy.requests).allSatisfy { $0["tries"] as? Int == 0 })
        for request in failing.requests + healthy.requests {
            XCTAssertEqual(request.header("x-webhook-secret"), "raw-secret")
        }
        await stop(worker)
    }

    /// The events of Marzban-mode bodies (each a JSON array), in arrival order.
    private func elements(_ requests: [RecordedRequest]) throws -> [[String: Any]] {
        try requests.flatMap { request -> [[String: Any]] in
            let array = try JSONSerialization.jsonObject(with: Data(request.body))
            return try XCTUnwrap(array as? [[String: Any]], "body is not an array: \(request.text)")
        }
    }
}
