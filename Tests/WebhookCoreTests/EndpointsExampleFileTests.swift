import Foundation
import XCTest
@testable import WebhookCore

/// The documented example file parses as documented.
final class EndpointsExampleFileTests: XCTestCase {
    func testTheExampleFileInDocsIsValid() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let text = try String(contentsOf: root.appendingPathComponent("docs/endpoints.example.yaml"), encoding: .utf8)
        let file = try EndpointsFile.parse(text, file: "endpoints.example.yaml", defaults: EndpointDefaults(secret: "global"))
        let (endpoints, warnings) = try EndpointsFile.resolve(file: file, addresses: [], discordURL: nil, defaults: EndpointDefaults())
        XCTAssertEqual(warnings, [])
        XCTAssertEqual(endpoints.map(\.name), ["billing", "legacy-panel", "blocked-region", "team-discord", "ops-chat",
                                                 "admin-discord", "admin-telegram"])
        XCTAssertEqual(endpoints.map(\.kind), [.webhook, .webhook, .webhook, .discord, .telegram, .discord, .telegram])
        XCTAssertEqual(endpoints[0].secrets, ["new-secret", "old-secret"])
        XCTAssertEqual(endpoints[0].timeout, 5)
        XCTAssertEqual(endpoints[0].headerLines, ["X-Source: marzban"])
        XCTAssertEqual(endpoints[0].dropFields, [["user", "admin", "discord_webhook"], ["by", "discord_webhook"]])
        XCTAssertEqual(endpoints[1].compat, .marzban)
        XCTAssertTrue(endpoints[1].egressPrivateOK)
        XCTAssertEqual(endpoints[2].secrets, ["global"])
        XCTAssertEqual(endpoints[2].proxy, "socks5h://127.0.0.1:1080")
        XCTAssertEqual(endpoints[3].rate, .discordDefault)
        XCTAssertEqual(endpoints[4].rate, RateLimit(count: 20, per: .minute))
        XCTAssertEqual(endpoints[4].actions, [])
        XCTAssertEqual(endpoints[5].route, EndpointRoute(field: "user.admin.discord_webhook"))
        XCTAssertEqual(endpoints[6].route, EndpointRoute(field: "user.admin.telegram_id"))
    }
}
