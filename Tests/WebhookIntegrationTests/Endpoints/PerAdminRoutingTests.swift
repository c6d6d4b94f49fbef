import Foundation
import TestSupport
import XCTest

/// Per-admin notifications end to end (a real worker, Discord and Telegram stand-ins): each
/// admin's events reach that admin's own Discord webhook or Telegram chat besides the global
/// ones; an admin with neither is counted as skipped; one admin's dead webhook does not hold back
/// another's; destinations named by the event are refused unless allowed, with no connection.
final class PerAdminRoutingTests: WorkerTestCase {
    /// An event for `user`, owned by an admin with these fields (JSON members, may be empty).
    private func event(_ user: String, admin: String) -> String {
        #"{"action":"user_created","username":"\#(user)","user":{"username":"\#(user)","admin":{"username":"admin-of-\#(user)"\#(admin)}}}"#
    }

    func testEachAdminsEventsReachTheirOwnDestinationsAndTheGlobalOnes() async throws {
        let globalDiscord = try await receiver(.status(204)), aliceDiscord = try await receiver(.status(204))
        let globalTelegram = try await receiver(), adminTelegram = try await receiver()
        let file = try endpointsFile("""
            endpoints:
              - name: discord
                kind: discord
                url: \(globalDiscord.url)
                rate: unlimited
              - name: admin-discord
                kind: discord
                url_from: user.admin.discord_webhook
                allowed_urls: ["\(aliceDiscord.baseURL)/"]
                rate: unlimited
              - name: ops-chat
                kind: telegram
                bot_token: "123456:global-token"
                chat_id: "-100"
                api_url: \(globalTelegram.baseURL)
                rate: unlimited
              - name: admin-telegram
                kind: telegram
                bot_token: "123456:admin-token"
                chat_id_from: user.admin.telegram_id
                api_url: \(adminTelegram.baseURL)
                rate: unlimited
            """)
        let (worker, base) = try await startWorkerWithMetrics([
            "WEBHOOK_ENDPOINTS_FILE": file, "WEBHOOK_EGRESS_ALLOW": "127.0.0.1/32",
        ])
        // alice's admin has a Discord webhook, bob's a Telegram ID, carol's neither.
        var events: [String] = []
        for index in 0..<2 {
            events.append(event("alice\(index)", admin: #","discord_webhook":"\#(aliceDiscord.url)","telegram_id":null"#))
            events.append(event("bob\(index)", admin: #","discord_webhook":"","telegram_id":777"#))
            events.append(event("carol\(index)", admin: ""))
        }
        try lpush(events)

        _ = try await globalDiscord.waitForRequests(count: 6, timeout: 30)
        _ = try await globalTelegram.waitForRequests(count: 6, timeout: 30)
        let alices = try await aliceDiscord.waitForRequests(count: 2, timeout: 30)
        let bobs = try await adminTelegram.waitForRequests(count: 2, timeout: 30)
        let drained = try await eventuallyAsync(timeout: 30) { try self.processingTotal() == 0 && self.llen("queue") == 0 }
        XCTAssertTrue(drained)

        // Discord embeds for alice's users only, at alice's admin's webhook.
        XCTAssertEqual(aliceDiscord.count, 2)
        for request in alices {
            XCTAssertEqual(request.path, "/hook")
            XCTAssertTrue(request.text.contains(#""embeds""#) && request.text.contains("alice"), request.text)
            XCTAssertFalse(request.text.contains("bob") || request.text.contains("carol"), request.text)
        }
        // Telegram messages for bob's users only, to chat 777 through the admin bot.
        XCTAssertEqual(adminTelegram.count, 2)
        for request in bobs {
            XCTAssertEqual(request.path, "/bot123456:admin-token/sendMessage")
            let body = try json(request)
            XCTAssertEqual(body["chat_id"] as? String, "777")
            let text = try XCTUnwrap(body["text"] as? String)
            XCTAssertTrue(text.contains("bob") && !text.contains("alice") && !text.contains("carol"), text)
        }
        XCTAssertTrue(try globalTelegram.requests.allSatisfy { try json($0)["chat_id"] as? String == "-100" })
        let letters = try redisCLI(["LRANGE", "\(prefix):dead", "0", "-1"])
        XCTAssertEqual(try llen("dead"), 0, letters)

        // Skipped, not failed: admin-discord skipped bob's and carol's, admin-telegram alice's and carol's.
        let metrics = PrometheusText(try await HTTPCall.get("\(base)/metrics").text)
        let skipped = metrics.samples("webhook_deliveries_skipped_total")
        XCTAssertEqual(skipped.first { $0.labels["endpoint"] == "admin-discord" }?.value, 4, metrics.text)
        XCTAssertEqual(skipped.first { $0.labels["endpoint"] == "admin-telegram" }?.value, 4, metrics.text)
        await stop(worker)
        XCTAssertFalse(worker.log.contains("admin-token"), "the bot token never reaches the log")
    }

    func testOneAdminsDeadWebhookRetriesAndDeadLettersWhileAnotherAdminsArriveOnTime() async throws {
        let broken = try await receiver(.respond { _, index in ReceiverResponse(status: index % 2 == 0 ? 404 : 503) })
        let healthy = try await receiver(.status(204))
        let file = try endpointsFile("""
            endpoints:
              - name: admin-discord
                kind: discord
                url_from: user.admin.discord_webhook
                allowed_urls: ["\(broken.baseURL)/", "\(healthy.baseURL)/"]
                rate: unlimited
            """)
        // The breaker opens after the broken admin's 6 failures: it must be that admin's alone.
        let worker = try startWorker([
            "WEBHOOK_ENDPOINTS_FILE": file, "WEBHOOK_EGRESS_ALLOW": "127.0.0.1/32",
            "NUMBER_OF_RECURRENT_NOTIFICATIONS": "1", "WEBHOOK_RETRY_SCHEDULE": "100ms",
            "WEBHOOK_BREAKER_FAILURES": "6", "WEBHOOK_BREAKER_PROBE": "60",
        ])
        try lpush((0..<3).map { event("dave\($0)", admin: #","discord_webhook":"\#(broken.url)""#) })
        _ = try await broken.waitForRequests(count: 6, timeout: 30)
        let dead = try await waitFor("3 dead letters for the broken admin", {
            try self.redis.cli.lines(["LRANGE", "\(self.prefix):dead", "0", "-1"])
        }, until: { $0.count == 3 })
        XCTAssertTrue(dead.allSatisfy { $0.contains("admin-discord") && $0.contains(#""attempts":2"#) }, "\(dead)")
        // The broken admin's breaker is open (its tallies are written every 0.25 s): the healthy
        // admin's events below must not be held by it.
        try await waitFor("the broken admin's breaker opened", { worker.log.contains("endpoint opened") }, until: { $0 })

        let pushed = Date()
        try lpush((0..<3).map { event("erin\($0)", admin: #","discord_webhook":"\#(healthy.url)""#) })
        _ = try await healthy.waitForRequests(count: 3, timeout: 30)
        XCTAssertLessThan(Date().timeIntervalSince(pushed), 3, "the healthy admin's events were not held by the other's breaker")
        XCTAssertEqual(broken.count, 6, "the broken admin got exactly 2 tries per event")
        XCTAssertFalse(worker.log.contains(#"/hook"#) && worker.log.contains("discord_webhook\":\"http"), "URLs stay out of logs")
        await stop(worker)
    }

    /// The issue's table of spellings, each named by an event as its admin's Discord webhook and
    /// allowed by `allowed_urls` (so only the egress guard stands between it and a connection).
    func testHostileDestinationsAreRefusedWithoutAConnection() async throws {
        let target = try await receiver()
        let port = target.port
        let metadata = ["http://169.254.169.254:\(port)/", "http://[::ffff:169.254.169.254]:\(port)/", "http://[64:ff9b::a9fe:a9fe]:\(port)/",
                        "http://2852039166:\(port)/", "http://0xa9.0xfe.0xa9.0xfe:\(port)/"]
        let loopback = ["http://127.0.0.1:\(port)/", "http://[::1]:\(port)/", "http://[::ffff:7f00:1]:\(port)/",
                        "http://0177.0.0.1:\(port)/", "http://[2002:7f00:1::]:\(port)/", "http://localhost:\(port)/"]
        let all = metadata + loopback
        let file = try endpointsFile("""
            endpoints:
              - name: admin-discord
                kind: discord
                url_from: user.admin.discord_webhook
                allowed_urls: [\(all.map { "\"\($0)\"" }.joined(separator: ", "))]
                rate: unlimited
            """)
        // WEBHOOK_EGRESS is the default (metadata): a destination from an event is still judged
        // as private, so the loopback spellings are refused too.
        let worker = try startWorker(["WEBHOOK_ENDPOINTS_FILE": file, "NUMBER_OF_RECURRENT_NOTIFICATIONS": "0"])
        try lpush(all.enumerated().map { event("u\($0.offset)", admin: #","discord_webhook":"\#($0.element)""#) })
        let dead = try await waitFor("\(all.count) dead letters", timeout: 30, {
            try self.redis.cli.lines(["LRANGE", "\(self.prefix):dead", "0", "-1"])
        }, until: { $0.count == all.count })
        for letter in dead {
            XCTAssertTrue(letter.contains("egress guard"), letter)
        }
        XCTAssertEqual(dead.filter { $0.contains("link-local or cloud-metadata") }.count, metadata.count, "\(dead)")
        XCTAssertEqual(dead.filter { $0.contains("WEBHOOK_EGRESS=private") }.count, all.count, "\(dead)")
        XCTAssertEqual(target.count, 0, "no connection reached the address")
        await stop(worker)
    }

    func testDiscordPerAdminSendsOnlyToDiscordWebhookURLs() async throws {
        // WEBHOOK_DISCORD_PER_ADMIN's endpoint takes Discord's own URLs only: a loopback URL
        // written into an admin is refused by the allow-list, before any egress question.
        let elsewhere = try await receiver()
        let worker = try startWorker(["WEBHOOK_DISCORD_PER_ADMIN": "true", "WEBHOOK_EGRESS": "off"])
        try lpush([event("frank", admin: #","discord_webhook":"\#(elsewhere.url)""#), event("gina", admin: "")])
        let dead = try await waitFor("a dead letter for frank's admin", {
            try self.redis.cli.lines(["LRANGE", "\(self.prefix):dead", "0", "-1"])
        }, until: { !$0.isEmpty })
        XCTAssertEqual(dead.count, 1, "gina's admin has no webhook: skipped, not dead")
        XCTAssertTrue(dead[0].contains("discord-admin") && dead[0].contains("not a Discord webhook URL"), dead[0])
        let drained = try await eventuallyAsync(timeout: 10) { try self.processingTotal() == 0 && self.llen("queue") == 0 }
        XCTAssertTrue(drained)
        XCTAssertEqual(elsewhere.count, 0, "never sent")
        await stop(worker)
    }
}
