import Foundation
import TestSupport
import XCTest

/// Discord end to end: a Discord endpoint gets an embed for every action, and its 429s are
/// waited out without spending a try.
final class DiscordDeliveryTests: WorkerTestCase {
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
}
