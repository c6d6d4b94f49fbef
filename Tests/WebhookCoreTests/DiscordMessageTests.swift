import Foundation
import XCTest
@testable import WebhookCore

final class DiscordMessageTests: XCTestCase {
    private func embed(_ json: String) throws -> [String: Any] {
        let event = try Event.parse(Array(json.utf8), maxBytes: 1 << 20, now: 1)
        let body = DiscordMessage.body(for: event)
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(body)) as? [String: Any])
        XCTAssertEqual(object["content"] as? String, "")
        let embeds = try XCTUnwrap(object["embeds"] as? [[String: Any]])
        XCTAssertEqual(embeds.count, 1)
        return embeds[0]
    }

    func testEveryActionHasTitleColourAndUser() throws {
        let colours: [String: Int] = [
            "user_created": 65280, "user_updated": 65535, "user_deleted": 16711680, "user_enabled": 10151604,
            "user_disabled": 4344665, "user_limited": 16295848, "user_expired": 16503693, "data_usage_reset": 65535,
            "data_reset_by_next": 65535, "subscription_revoked": 16711680, "reached_usage_percent": 16295848,
            "reached_days_left": 16295848, "something_new": DiscordMessage.neutralColor,
        ]
        for (action, colour) in colours {
            let embed = try embed(#"{"action":"\#(action)","username":"alice"}"#)
            XCTAssertEqual((embed["color"] as? NSNumber)?.intValue, colour, action)
            let title = try XCTUnwrap(embed["title"] as? String, action)
            XCTAssertFalse(title.isEmpty, action)
            XCTAssertTrue((embed["description"] as? String)?.contains("**Username:** alice") == true, action)
            XCTAssertEqual((embed["footer"] as? [String: Any])?["text"] as? String, action)
        }
    }

    func testDescribesTheUserRecord() throws {
        let embed = try embed("""
            {"action":"user_limited","username":"alice","used_percent":100,"days_left":3,"reason":"quota",
             "by":{"username":"root","is_sudo":true},
             "user":{"status":"limited","data_limit":10737418240,"used_traffic":1610612736,"expire":1767225600,
                     "admin":{"username":"owner"}}}
            """)
        let description = try XCTUnwrap(embed["description"] as? String)
        for line in ["**Username:** alice", "**Status:** limited", "**Data limit:** 10 GB", "**Used traffic:** 1.50 GB",
                     "**Expire:** 2026-01-01 00:00:00 UTC", "**Used:** 100%", "**Days left:** 3", "**Reason:** quota"] {
            XCTAssertTrue(description.contains(line), "\(line) missing from \(description)")
        }
        XCTAssertEqual((embed["footer"] as? [String: Any])?["text"] as? String, "By root")
    }

    func testUnlimitedNeverAndOwnerFooter() throws {
        let embed = try embed(#"{"action":"user_created","username":"u","user":{"data_limit":null,"expire":0,"admin":{"username":"owner"}}}"#)
        let description = try XCTUnwrap(embed["description"] as? String)
        XCTAssertTrue(description.contains("**Data limit:** Unlimited"))
        XCTAssertTrue(description.contains("**Expire:** Never"))
        XCTAssertEqual((embed["footer"] as? [String: Any])?["text"] as? String, "Belongs To: owner")
    }

    func testEscapesMarkdownAndJSON() throws {
        let embed = try embed(#"{"action":"user_created","username":"a_b*\"c\"\n<d>"}"#)
        let description = try XCTUnwrap(embed["description"] as? String)
        // Markdown is escaped and a newline cannot start a fake line of the description.
        XCTAssertTrue(description.contains(#"**Username:** a\_b\*"c" <d>"#), description)
    }

    func testFormatting() {
        XCTAssertEqual(SummaryFormat.size(NSNumber(value: 512), zero: "-"), "512 B")
        XCTAssertEqual(SummaryFormat.size(NSNumber(value: 1536), zero: "-"), "1.50 KB")
        XCTAssertEqual(SummaryFormat.size(NSNumber(value: 0), zero: "-"), "-")
        XCTAssertEqual(SummaryFormat.expiry(NSNumber(value: 0)), "Never")
        XCTAssertEqual(SummaryFormat.expiry(NSNumber(value: 951_782_400)), "2000-02-29 00:00:00 UTC")
        XCTAssertEqual(SummaryFormat.expiry(NSNumber(value: 1_680_506_457)), "2023-04-03 07:20:57 UTC")
    }

    func testHugeAndOddNumbersNeverTrap() throws {
        // Double -> Int of 1e34 and beyond traps; one such event used to crash every worker.
        for value in ["1e40", "-1e40", "1.7976931348623157e308", "1e15", "123456789012345678901234567890"] {
            let event = try Event.parse(Array(#"{"action":"user_limited","username":"u","used_percent":\#(value),"days_left":\#(value),"user":{"data_limit":\#(value),"used_traffic":\#(value),"expire":\#(value)}}"#.utf8),
                                        maxBytes: 1 << 20, now: 0)
            let body = DiscordMessage.body(for: event)
            let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(body)) as? [String: Any], value)
            XCTAssertNotNil(object["embeds"], value)
        }
        XCTAssertEqual(SummaryFormat.size(1e40, zero: "-"), "8.67e+21 EB")
        XCTAssertEqual(SummaryFormat.expiry(1e40), "Never")
    }
}
