import Foundation
import TestSupport
import WebhookCore
import WebhookRedis
import XCTest

/// The foundation, end to end: events pushed onto Redis reach every endpoint, signed, once.
final class WorkerDeliveryTests: WorkerTestCase {
    func testEventsReachTwoEndpointsExactlyOnceWithValidSignatures() async throws {
        let a = try await receiver(), b = try await receiver()
        let secret = "something-very-very-secret"
        let worker = try startWorker(["WEBHOOK_ADDRESS": "\(a.url),\(b.url)", "WEBHOOK_SECRET": secret])
        try push(300)

        for endpoint in [a, b] {
            let requests = try await endpoint.waitForRequests(count: 300, timeout: 60)
            XCTAssertEqual(Set(try usernames(requests)).count, 300)
            for request in requests {
                let body = try json(request)
                XCTAssertEqual(body["tries"] as? Int, 0)
                XCTAssertEqual(body["action"] as? String, "user_created")
                XCTAssertNotNil(body["enqueued_at"] as? Double)
                XCTAssertEqual(request.header("content-type"), "application/json")
                XCTAssertEqual(request.header("x-webhook-secret"), hexHMAC(request.body, secret: secret))
                let id = try XCTUnwrap(request.header("webhook-id"))
                let timestamp = try XCTUnwrap(request.header("webhook-timestamp"))
                XCTAssertEqual(request.header("webhook-signature"),
                               standardSignature(id: id, timestamp: timestamp, body: request.body, secret: secret))
                XCTAssertLessThan(abs(Double(timestamp)! - Date().timeIntervalSince1970), 120)
            }
            XCTAssertEqual(Set(requests.compactMap { $0.header("webhook-id") }).count, 300, "one webhook-id per event")
        }
        // One id per event *and endpoint*.
        let idsA = Set(a.requests.compactMap { $0.header("webhook-id") })
        XCTAssertTrue(idsA.isDisjoint(with: b.requests.compactMap { $0.header("webhook-id") }))

        try await waitUntilIdle()
        XCTAssertEqual(a.count, 300, "exactly once")
        XCTAssertEqual(b.count, 300, "exactly once")
        XCTAssertEqual(try llen("dead"), 0)
        await stop(worker)
    }

    func testTwoWorkersShareOneQueueWithoutDuplicates() async throws {
        let a = try await receiver(), b = try await receiver()
        let env = ["WEBHOOK_ADDRESS": "\(a.url),\(b.url)", "WEBHOOK_SECRET": "s", "WEBHOOK_BATCH_SIZE": "8"]
        let first = try startWorker(env), second = try startWorker(env)
        try await waitUntilRegistered(2)
        try push(300)
        for endpoint in [a, b] {
            _ = try await endpoint.waitForRequests(count: 300, timeout: 60)
        }
        try await waitUntilIdle()
        for endpoint in [a, b] {
            let names = try usernames(endpoint.requests)
            XCTAssertEqual(names.count, 300, "no duplicates")
            XCTAssertEqual(Set(names).count, 300, "none missing")
        }
        await stop(first)
        await stop(second)
    }

    func testRawLPUSHFromAnyLanguageIsDeliveredWithFieldsUntouched() async throws {
        let a = try await receiver()
        let worker = try startWorker(["WEBHOOK_ADDRESS": a.url])
        let event = #"{"username": "bob", "action": "user_limited", "by": {"username": "admin", "is_sudo": true}, "used_percent": 100, "note": "π ✓"}"#
        _ = try redisCLI(["LPUSH", "\(prefix):queue", event])
        let request = try await a.waitForRequests(count: 1, timeout: 30)[0]
        let text = request.text
        // Producer bytes are kept verbatim; only enqueued_at and tries are added.
        XCTAssertTrue(text.hasPrefix(String(event.dropLast())), text)
        let body = try json(request)
        XCTAssertEqual(body["tries"] as? Int, 0)
        XCTAssertNotNil(body["enqueued_at"] as? Double)
        XCTAssertEqual((body["by"] as? [String: Any])?["is_sudo"] as? Bool, true)
        XCTAssertEqual(body["note"] as? String, "π ✓")
        XCTAssertNil(request.header("x-webhook-secret"), "no secret configured, no header")
        await stop(worker)
    }

    func testMarzbanCompatModeBatchesAnArrayWithTheRawSecret() async throws {
        let a = try await receiver()
        try push(20)
        let worker = try startWorker(["WEBHOOK_ADDRESS": a.url, "WEBHOOK_SECRET": "raw-secret",
                                      "WEBHOOK_COMPAT": "marzban"])
        try await waitFor("20 events delivered", { try elementsOf(a.requests).count }, until: { $0 >= 20 })
        let elements = try elementsOf(a.requests)
        XCTAssertEqual(Set(elements.compactMap { $0["username"] as? String }).count, 20)
        XCTAssertTrue(elements.allSatisfy { $0["tries"] as? Int == 0 })
        XCTAssertLessThan(a.count, 20, "due events are batched into fewer requests")
        for request in a.requests {
            XCTAssertEqual(request.header("x-webhook-secret"), "raw-secret")
            XCTAssertNil(request.header("webhook-signature"))
        }
        await stop(worker)
    }

    func testEnqueueAndStatusCommands() async throws {
        let a = try await receiver()
        let enqueue = try cli(["enqueue", "--action", "user_created", "--username", "alice",
                               "--field", "used_percent=80", "--json", #"{"by":{"username":"admin"}}"#])
        XCTAssertEqual(enqueue.status, 0, enqueue.output)
        // At LOG_LEVEL=debug the effective configuration is logged to stderr, which cli() merges.
        let status = try cli(["status", "--json"], ["LOG_LEVEL": "info"])
        XCTAssertEqual(status.status, 0, status.output)
        let depths = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(status.output.utf8)) as? [String: Any])
        XCTAssertEqual(depths["queue"] as? Int, 1)

        let worker = try startWorker(["WEBHOOK_ADDRESS": a.url, "WEBHOOK_SECRET": "k"])
        let body = try json(try await a.waitForRequests(count: 1, timeout: 30)[0])
        XCTAssertEqual(body["username"] as? String, "alice")
        XCTAssertEqual(body["used_percent"] as? Int, 80)
        XCTAssertEqual((body["by"] as? [String: Any])?["username"] as? String, "admin")

        try await waitFor("status showing one worker and an empty queue", {
            try await command(["status"]).stdout
        }, until: { $0.contains("workers    1") && $0.contains("queue      0") })
        await stop(worker)
    }

    func testBadConfigurationStopsStartUpNamingTheVariable() throws {
        for (variable, value) in [("WEBHOOK_TIMEOUT", "abc"), ("REDIS_URL", "http://nope"),
                                  ("WEBHOOK_ADDRESS", "not a url"), ("JOB_SEND_NOTIFICATIONS_INTERVAL", "-1")] {
            var env = environment(["WEBHOOK_ADDRESS": "http://127.0.0.1:9/"])
            env[variable] = value
            let result = try WorkerProcess.command(["run"], environment: env, timeout: 20)
            XCTAssertNotEqual(result.status, 0, "\(variable)=\(value) must stop start-up")
            XCTAssertTrue(result.output.contains(variable), "message names \(variable): \(result.output)")
        }
    }

    func testSecretNeverAppearsInLogs() async throws {
        let a = try await receiver(.status(500))
        let secret = "top-secret-value-\(UInt32.random(in: 0...UInt32.max))"
        let worker = try startWorker(["WEBHOOK_ADDRESS": a.url, "WEBHOOK_SECRET": secret,
                                      "NUMBER_OF_RECURRENT_NOTIFICATIONS": "0"])
        try push(3)
        try await waitFor("three dead letters", { try llen("dead") }, until: { $0 == 3 })
        await stop(worker)
        XCTAssertFalse(worker.log.contains(secret), "the secret leaked into the log")
    }

    /// Waits until nothing is queued or held (every taken event settled).
    private func waitUntilIdle() async throws {
        try await waitFor("queue and processing empty", { [try llen("queue"), try processingTotal()] }, until: { $0 == [0, 0] })
    }

    /// The elements of Marzban-mode array bodies.
    private func elementsOf(_ requests: [RecordedRequest]) throws -> [[String: Any]] {
        try requests.flatMap { request -> [[String: Any]] in
            let array = try JSONSerialization.jsonObject(with: Data(request.body))
            return try XCTUnwrap(array as? [[String: Any]], "body is not an array: \(request.text)")
        }
    }
}
