import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import TestSupport
import XCTest

/// Issue 5 end to end: Discord, the Marzban bridge, metrics and health.
final class OperationsTests: WorkerTestCase {
    private func http(_ method: String, _ url: String, body: [UInt8] = [], headers: [String: String] = [:]) async throws -> (Int, String) {
        var request = URLRequest(url: URL(string: url)!)
        request.httpMethod = method
        if !body.isEmpty { request.httpBody = Data(body) }
        for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
        let (data, response) = try await URLSession.shared.data(for: request)
        return ((response as? HTTPURLResponse)?.statusCode ?? 0, String(decoding: data, as: UTF8.self))
    }

    func testDiscordStandInReceivesAnEmbedForEveryAction() async throws {
        let discord = try await receiver(.status(204))
        let worker = try startWorker(["DISCORD_WEBHOOK_URL": discord.url, "WEBHOOK_SECRET": "never-to-discord"])
        XCTAssertTrue(eventually(timeout: 20) { worker.log.contains("Discord") || worker.log.contains("discord") })
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
        stopCleanly(worker)
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
        try await Task.sleep(for: .seconds(1))
        XCTAssertEqual(discord.count, 2)
        XCTAssertEqual(try llen("dead"), 0, "a rate limit is not a failed try")
        stopCleanly(worker)
    }

    func testBridgeEnqueuesMarzbanArraysThatReachEveryEndpointSigned() async throws {
        let a = try await receiver(), b = try await receiver()
        let port = try freeTCPPort()
        let bridge = try WorkerProcess(["ingest", "--listen", "127.0.0.1:\(port)"],
                                       environment: environment(["INGEST_SECRET": "panel-secret", "WEBHOOK_MAX_PAYLOAD_BYTES": "4096"]))
        defer { bridge.terminate(); _ = bridge.waitForExit(timeout: 10) }
        let worker = try startWorker(["WEBHOOK_ADDRESS": "\(a.url),\(b.url)", "WEBHOOK_SECRET": "downstream"])
        let base = "http://127.0.0.1:\(port)"
        var healthy = false
        for _ in 0..<200 where !healthy {
            healthy = ((try? await http("GET", "\(base)/healthz"))?.0 == 200)
            if !healthy { try await Task.sleep(for: .milliseconds(50)) }
        }
        XCTAssertTrue(healthy, bridge.log)

        // What Marzban 0.8.4 posts: an array, the raw secret in x-webhook-secret.
        let marzban = #"[{"enqueued_at": 1680506457.636369, "send_at": 1680506457.636369, "tries": 0, "username": "u1", "action": "user_created", "by": {"username": "admin", "is_sudo": true}}, {"enqueued_at": 1680506458.1, "send_at": 1680506458.1, "tries": 0, "username": "u2", "action": "user_limited"}]"#
        let (status, _) = try await http("POST", "\(base)/events", body: Array(marzban.utf8),
                                         headers: ["x-webhook-secret": "panel-secret", "Content-Type": "application/json"])
        XCTAssertEqual(status, 202)
        for endpoint in [a, b] {
            let requests = try await endpoint.waitForRequests(count: 2, timeout: 30)
            XCTAssertEqual(Set(try usernames(requests)), ["u1", "u2"])
            for request in requests {
                XCTAssertEqual(request.header("x-webhook-secret"), hexHMAC(request.body, secret: "downstream"))
            }
        }

        // Rejections enqueue nothing.
        let before = try llen("queue")
        let wrong = try await http("POST", "\(base)/events", body: Array(marzban.utf8), headers: ["x-webhook-secret": "nope"])
        XCTAssertEqual(wrong.0, 401)
        let missing = try await http("POST", "\(base)/events", body: Array(marzban.utf8))
        XCTAssertEqual(missing.0, 401)
        let notJSON = try await http("POST", "\(base)/events", body: Array("{nope".utf8), headers: ["x-webhook-secret": "panel-secret"])
        XCTAssertEqual(notJSON.0, 400)
        let noAction = try await http("POST", "\(base)/events", body: Array(#"[{"username":"x","action":"user_created"},{"username":"y"}]"#.utf8),
                                      headers: ["x-webhook-secret": "panel-secret"])
        XCTAssertEqual(noAction.0, 400)
        let oversize = try await http("POST", "\(base)/events", body: Array(repeating: UInt8(ascii: " "), count: 10_000) + Array("[]".utf8),
                                      headers: ["x-webhook-secret": "panel-secret"])
        XCTAssertEqual(oversize.0, 413)
        XCTAssertEqual(try llen("queue"), before)
        try await Task.sleep(for: .seconds(0.5))
        XCTAssertEqual(a.count, 2, "nothing more was delivered")

        let metrics = try await http("GET", "\(base)/metrics")
        XCTAssertTrue(metrics.1.contains("webhook_events_ingested_total"), metrics.1)
        stopCleanly(worker)
    }

    func testWorkerMetricsMoveAndHealthzFollowsRedis() async throws {
        let a = try await receiver()
        let port = try freeTCPPort()
        let worker = try startWorker(["WEBHOOK_ADDRESS": a.url, "WEBHOOK_METRICS_LISTEN": "127.0.0.1:\(port)"])
        let base = "http://127.0.0.1:\(port)"
        var health = 0
        for _ in 0..<200 where health != 200 {
            health = (try? await http("GET", "\(base)/healthz"))?.0 ?? 0
            if health != 200 { try await Task.sleep(for: .milliseconds(50)) }
        }
        XCTAssertEqual(health, 200, worker.log)
        try push(5)
        _ = try await a.waitForRequests(count: 5, timeout: 30)
        var text = ""
        for _ in 0..<100 {
            text = try await http("GET", "\(base)/metrics").1
            if text.contains(#"outcome="delivered""#) && text.contains(" 5") { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        let line = text.split(separator: "\n").first { $0.hasPrefix("webhook_deliveries_total") && $0.contains(#"outcome="delivered""#) }
        XCTAssertEqual(line.flatMap { $0.split(separator: " ").last }.flatMap { Double($0) }, 5, text)
        XCTAssertTrue(text.contains("webhook_attempt_duration_seconds"), text)
        XCTAssertTrue(text.contains("webhook_queue_depth"), text)

        redis.kill()
        var down = 0
        for _ in 0..<100 where down != 503 {
            down = (try? await http("GET", "\(base)/healthz"))?.0 ?? 0
            if down != 503 { try await Task.sleep(for: .milliseconds(100)) }
        }
        XCTAssertEqual(down, 503, "healthz reports Redis down")
        worker.terminate()
        XCTAssertNotNil(worker.waitForExit(timeout: 20))
    }
}
