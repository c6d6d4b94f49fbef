import Foundation
import TestSupport
import XCTest

/// A PasarGuard notification (ISO 8601 `user.expire`) through the bridge and a worker reaches a
/// Discord and a Telegram stand-in with its expiry date, not "Never".
final class PanelDatesDeliveryTests: WorkerTestCase {
    func testAPasarGuardExpiryReachesDiscordAndTelegram() async throws {
        let discord = try await receiver(.status(204))
        let telegram = try await receiver(.respond { _, _ in ReceiverResponse(status: 200, body: Array(#"{"ok":true}"#.utf8)) })
        let file = try endpointsFile("""
            endpoints:
              - name: ops-chat
                kind: telegram
                bot_token: "123456:token"
                chat_id: "-100123"
                api_url: \(telegram.baseURL)
            """)
        _ = try startWorker(["DISCORD_WEBHOOK_URL": discord.url, "WEBHOOK_ENDPOINTS_FILE": file])
        let (_, bridge) = try await startBridge(["INGEST_SECRET": "panel-secret"])
        let event = #"""
            [{"username":"alice","action":"user_updated","enqueued_at":1767225600.5,"send_at":1767225600.5,"tries":0,
              "by":{"username":"root"},
              "user":{"expire":"2027-01-02T06:34:41Z","data_limit":10737418240,"status":"active","used_traffic":0,
                      "created_at":"2026-01-01T00:00:00Z","online_at":null,"admin":{"username":"owner"}}}]
            """#
        let answer = try await HTTPCall.request("POST", "\(bridge)/events", body: Array(event.utf8),
                                                headers: ["x-webhook-secret": "panel-secret"])
        XCTAssertEqual(answer.status, 202, answer.text)

        let embed = try await discord.waitForRequests(count: 1, timeout: 30)[0]
        let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(embed.body)) as? [String: Any])
        let description = try XCTUnwrap((object["embeds"] as? [[String: Any]])?.first?["description"] as? String)
        XCTAssertTrue(description.contains("**Expire:** 2027-01-02 06:34:41 UTC"), description)
        let message = try await telegram.waitForRequests(count: 1, timeout: 30)[0]
        let text = try XCTUnwrap(try json(message)["text"] as? String)
        XCTAssertTrue(text.contains("<b>Expire:</b> <code>2027-01-02 06:34:41 UTC</code>"), text)
    }
}
