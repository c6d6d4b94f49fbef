import Foundation
import TestSupport
import XCTest

/// Issue 5 end to end: Discord, the Marzban bridge, metrics and health.
final class OperationsTests: WorkerTestCase {
    func testDiscordStandInReceivesAnEmbedForEveryAction() async throws {
        let discord = try await receiver(.status(204))
        // A Discord endpoint like DISCORD_WEBHOOK_URL's, without Discord's 30/min default rate
        // (12 events would take 22 s): the embeds are what this test checks.
        let file = try endpointsFile("""
            endpoints:
              - name: discord
                kind: discord
                url: \(discord.url)
                rate: unlimited
            """)
        let worker = try startWorker(["WEBHOOK_ENDPOINTS_FILE": file, "WEBHOOK_SECRET": "never-to-discord"])
        try await waitUntilRegistered()
        let colours = ["user_created": 65280, "user_updated": 65535, "user_deleted": 16711680,
                       "user_enabled": 10151604, "user_disabled": 4344665, "user_limited": 16295848,
                       "user_expired": 16503693]
        let actions = Array(colours.keys) + ["data_usage_reset", "data_reset_by_next", "subscription_revoked",
                                             "reached_usage_percent", "reached_days_left"]
        let producer = try producer()
        for action in actions {
            try producer.enqueue(action: action, username: "alice-\(action)",
                                 fields: [("by", .raw(Array(#"{"username":"admin"}"#.utf8)))],
                                 now: Date().timeIntervalSince1970)
        }
        let requests = try await discord.waitForRequests(count: actions.count, timeout: 30)
        var seen = Set<String>()
        for request in requests {
            XCTAssertNil(request.header("x-webhook-secret"), "the secret never goes to Discord")
            let body = try json(request)
            XCTAssertEqual(body["content"] as? String, "")
            let embed = try XCTUnwrap((body["embeds"] as? [[String: Any]])?.first, request.text)
            let title = try XCTUnwrap(embed["title"] as? String)
            let description = try XCTUnwrap(embed["description"] as? String)
            XCTAssertFalse(title.isEmpty)
            XCTAssertNotNil((embed["footer"] as? [String: Any])?["text"] as? String)
            let colour = try XCTUnwrap(embed["color"] as? Int)
            // Markdown-escaped (user\_created), as Marzban's embeds are.
            let plain = description.replacingOccurrences(of: "\\", with: "")
            let action = try XCTUnwrap(actions.first { plain.contains("alice-\($0)") }, description)
            seen.insert(action)
            if let expected = colours[action] { XCTAssertEqual(colour, expected, action) }
        }
        XCTAssertEqual(seen.count, actions.count)
        await stop(worker)
    }

    func testDiscord429WaitsRetryAfterWithoutCountingATry() async throws {
        let discord = try await receiver(.respond { _, index in
            index == 0 ? ReceiverResponse(status: 429, headers: [("Content-Type", "application/json")],
                                          body: Array(#"{"message":"You are being rate limited.","retry_after":1.5,"global":false}"#.utf8))
                       : ReceiverResponse(status: 204)
        })
        let worker = try startWorker(["DISCORD_WEBHOOK_URL": discord.url,
                                      "NUMBER_OF_RECURRENT_NOTIFICATIONS": "0", "RECURRENT_NOTIFICATIONS_TIMEOUT": "600"])
        try push(1, action: "user_limited")
        let attempts = try await discord.waitForRequests(count: 2, timeout: 30)
        XCTAssertGreaterThanOrEqual(attempts[1].arrival - attempts[0].arrival, 1.5, "waited retry_after")
        // Settled: nothing queued, parked or held, so no further attempt can come.
        try await waitFor("queue, delayed and processing empty", {
            [try llen("queue"), try zcard("delayed"), try processingTotal()]
        }, until: { $0 == [0, 0, 0] })
        XCTAssertEqual(discord.count, 2)
        XCTAssertEqual(try llen("dead"), 0, "a rate limit is not a failed try")
        await stop(worker)
    }

    func testBridgeEnqueuesMarzbanArraysThatReachEveryEndpointSigned() async throws {
        let a = try await receiver(), b = try await receiver()
        let (bridge, base) = try await startBridge(["INGEST_SECRET": "panel-secret", "WEBHOOK_MAX_PAYLOAD_BYTES": "4096",
                                                      "INGEST_MAX_BODY_BYTES": "4096"])
        let worker = try startWorker(["WEBHOOK_ADDRESS": "\(a.url),\(b.url)", "WEBHOOK_SECRET": "downstream"])

        // What Marzban 0.8.4 posts: an array, the raw secret in x-webhook-secret.
        let marzban = #"[{"enqueued_at": 1680506457.636369, "send_at": 1680506457.636369, "tries": 0, "username": "u1", "action": "user_created", "by": {"username": "admin", "is_sudo": true}}, {"enqueued_at": 1680506458.1, "send_at": 1680506458.1, "tries": 0, "username": "u2", "action": "user_limited"}]"#
        let accepted = try await post(base, marzban, secret: "panel-secret")
        XCTAssertEqual(accepted.status, 202, accepted.text)
        for endpoint in [a, b] {
            let requests = try await endpoint.waitForRequests(count: 2, timeout: 30)
            XCTAssertEqual(Set(try usernames(requests)), ["u1", "u2"])
            for request in requests {
                XCTAssertEqual(request.header("x-webhook-secret"), hexHMAC(request.body, secret: "downstream"))
            }
        }

        // Rejections enqueue nothing.
        let before = try llen("queue")
        let oversize = String(repeating: " ", count: 10_000) + "[]"
        let rejected: [(body: String, secret: String?, status: Int)] = [
            (marzban, "nope", 401), (marzban, nil, 401), ("{nope", "panel-secret", 400),
            (#"[{"username":"x","action":"user_created"},{"username":"y"}]"#, "panel-secret", 400),
            (oversize, "panel-secret", 413),
        ]
        for case let (body, secret, status) in rejected {
            let answer = try await post(base, body, secret: secret)
            XCTAssertEqual(answer.status, status, "\(body.prefix(60)): \(answer.text)")
        }
        XCTAssertEqual(try llen("queue"), before)
        // A marker posted after the rejections arrives after anything they could have queued.
        let marker = try await post(base, #"[{"username":"marker","action":"user_created"}]"#, secret: "panel-secret")
        XCTAssertEqual(marker.status, 202, marker.text)
        let all = try await a.waitForRequests(count: 3, timeout: 30)
        let names = try usernames(all)
        XCTAssertEqual(names[2], "marker", "nothing rejected was delivered: \(names)")

        let metrics = PrometheusText(try await HTTPCall.get("\(base)/metrics").text)
        XCTAssertEqual(metrics.value("webhook_events_ingested_total"), 3, metrics.text)
        XCTAssertEqual(metrics.value("webhook_ingest_rejected_total"), 5, metrics.text)
        await stop(worker)
        bridge.terminate()
        let bridgeStatus = await bridge.exit(timeout: 20)
        XCTAssertEqual(bridgeStatus, 0, bridge.log)
    }

    func testWorkerMetricsMoveAndHealthzFollowsRedis() async throws {
        let a = try await receiver()
        let (worker, base) = try await startWorkerWithMetrics(["WEBHOOK_ADDRESS": a.url])
        try push(5)
        _ = try await a.waitForRequests(count: 5, timeout: 30)
        let metrics = try await eventually("5 deliveries counted", {
            PrometheusText(try await HTTPCall.get("\(base)/metrics").text)
        }, until: { $0.value("webhook_deliveries_total", ["outcome": "delivered", "status_class": "2xx"]) == 5 })
        XCTAssertEqual(metrics.value("webhook_attempt_duration_seconds_count"), 5, metrics.text)
        XCTAssertNotNil(metrics.value("webhook_queue_depth"), metrics.text)

        redis.kill()
        try await HTTPCall.waitForStatus(503, at: "\(base)/healthz")
        worker.terminate()
        let status = await worker.exit(timeout: 30)
        XCTAssertNotNil(status, "the worker exits on SIGTERM while Redis is down")
    }

    private func post(_ base: String, _ body: String, secret: String?) async throws -> HTTPCall.Answer {
        var headers = ["Content-Type": "application/json"]
        if let secret { headers["x-webhook-secret"] = secret }
        return try await HTTPCall.request("POST", "\(base)/events", body: Array(body.utf8), headers: headers)
    }
}
