import Foundation
import XCTest
@testable import WebhookCore

/// Both panels' events render their dates in Discord embeds and Telegram texts: Marzban writes
/// `user.expire` as Unix seconds, PasarGuard as an ISO 8601 string ending in `Z`.
final class PanelDatesTests: XCTestCase {
    /// A `user_created` event shaped as PasarGuard v3 sends it (its `UserNotificationResponse`:
    /// `proxy_settings`, ISO datetimes, `admin` contact info).
    static let pasarGuard = """
        {"username":"alice","action":"user_created","enqueued_at":1767225600.5,"send_at":1767225600.5,"tries":0,
         "by":{"username":"root","telegram_id":null,"discord_webhook":null},
         "user":{"proxy_settings":{"vmess":{"id":"0f2b4c4e-0000-4000-8000-000000000000"},"wireguard":{"private_key":"x"}},
                 "expire":"2027-01-02T06:34:41Z","data_limit":10737418240,"data_limit_reset_strategy":"no_reset",
                 "note":null,"on_hold_expire_duration":null,"on_hold_timeout":null,"group_ids":[1],
                 "auto_delete_in_days":null,"next_plan":null,"id":7,"username":"alice","status":"active",
                 "used_traffic":1610612736,"lifetime_used_traffic":0,"created_at":"2026-01-01T00:00:00Z",
                 "edit_at":null,"online_at":null,"subscription_url":"/sub/abc",
                 "admin":{"username":"owner","telegram_id":null,"discord_webhook":null},"group_names":["default"]}}
        """
    /// The same user as Marzban 0.8.4 sends it: `expire` in Unix seconds.
    static let marzban = """
        {"username":"alice","action":"user_created","enqueued_at":1767225600.5,"tries":0,
         "by":{"username":"root","is_sudo":true},
         "user":{"proxies":{"vmess":{"id":"0f2b4c4e-0000-4000-8000-000000000000"}},"expire":1798871681,
                 "data_limit":10737418240,"data_limit_reset_strategy":"no_reset","status":"active",
                 "used_traffic":1610612736,"lifetime_used_traffic":0,"created_at":"2026-01-01T00:00:00",
                 "admin":{"username":"owner"}}}
        """

    private func event(_ json: String) throws -> Event {
        try Event.parse(Array(json.utf8), maxBytes: 1 << 20, now: 1)
    }

    private func discordDescription(_ json: String) throws -> String {
        let body = DiscordMessage.body(for: try event(json))
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(body)) as? [String: Any])
        let embed = try XCTUnwrap((object["embeds"] as? [[String: Any]])?.first)
        return try XCTUnwrap(embed["description"] as? String)
    }

    private func telegramText(_ json: String) throws -> String {
        let body = TelegramMessage.body(for: try event(json), chatID: "1")
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(body)) as? [String: Any])
        return try XCTUnwrap(object["text"] as? String)
    }

    func testPasarGuardsISOExpiryIsShownInDiscordAndTelegram() throws {
        let discord = try discordDescription(Self.pasarGuard)
        XCTAssertTrue(discord.contains("**Expire:** 2027-01-02 06:34:41 UTC"), discord)
        let telegram = try telegramText(Self.pasarGuard)
        XCTAssertTrue(telegram.contains("<b>Expire:</b> <code>2027-01-02 06:34:41 UTC</code>"), telegram)
        for line in ["**Status:** active", "**Data limit:** 10 GB", "**Used traffic:** 1.50 GB"] {
            XCTAssertTrue(discord.contains(line), "\(line) missing from \(discord)")
        }
    }

    func testMarzbansUnixExpiryShowsTheSameDate() throws {
        // 1798871681 is 2027-01-02T06:34:41Z: both panels' forms of one date read alike.
        XCTAssertEqual(try discordDescription(Self.marzban), try discordDescription(Self.pasarGuard))
        XCTAssertEqual(try telegramText(Self.marzban), try telegramText(Self.pasarGuard))
    }

    func testNeverIsNullForBothPanelsAndZeroForMarzban() throws {
        for expire in ["null", "0", "\"\""] {
            let json = #"{"action":"user_updated","username":"u","user":{"expire":\#(expire)}}"#
            XCTAssertTrue(try discordDescription(json).contains("**Expire:** Never"), expire)
            XCTAssertTrue(try telegramText(json).contains("<b>Expire:</b> <code>Never</code>"), expire)
        }
    }

    func testOffsetsAndFractionsAreReadAsUTC() throws {
        let cases = [
            "2027-01-02T06:34:41Z": "2027-01-02 06:34:41 UTC",
            "2027-01-02T06:34:41.987654Z": "2027-01-02 06:34:41 UTC",
            "2027-01-02T10:04:41+03:30": "2027-01-02 06:34:41 UTC",
            "2027-01-01T22:34:41-0800": "2027-01-02 06:34:41 UTC",
            "2027-01-02T06:34:41": "2027-01-02 06:34:41 UTC",
            "2027-01-02 06:34:41+00:00": "2027-01-02 06:34:41 UTC",
            "2027-01-02T06:34Z": "2027-01-02 06:34:00 UTC",
            "2027-01-02": "2027-01-02 00:00:00 UTC",
            "2024-02-29T23:59:60Z": "2024-02-29 23:59:59 UTC",
            "1969-12-31T23:59:59Z": "1969-12-31 23:59:59 UTC",
            "2000-03-01T00:30:00+01:00": "2000-02-29 23:30:00 UTC",
        ]
        for (text, shown) in cases {
            XCTAssertEqual(SummaryFormat.expiry(text), shown, text)
        }
        XCTAssertEqual(SummaryFormat.isoSeconds("2027-01-02T06:34:41Z"), 1_798_871_681)
        XCTAssertEqual(SummaryFormat.isoSeconds("1970-01-01T00:00:00Z"), 0)
    }

    func testAStringThatIsNotADateIsShownAsWrittenNotAsNever() throws {
        for text in ["soon", "2027-13-01T00:00:00Z", "2023-02-29", "2027-01-02T25:00:00Z", "2027-01-02T06:34:41Q",
                     "2027-01-02T06:34:41+", "2027-1-2", "١٢٣٤-01-01"] {
            XCTAssertNil(SummaryFormat.isoSeconds(text), text)
            XCTAssertEqual(SummaryFormat.expiry(text), text)
        }
        XCTAssertEqual(SummaryFormat.expiry(true), "unreadable")
        XCTAssertEqual(SummaryFormat.expiry(["a": 1]), "unreadable")
        // Markup in such a string is escaped like any other value.
        let json = #"{"action":"user_updated","username":"u","user":{"expire":"<b>_x_</b>"}}"#
        XCTAssertTrue(try telegramText(json).contains("<code>&lt;b&gt;_x_&lt;/b&gt;</code>"))
        XCTAssertTrue(try discordDescription(json).contains(#"**Expire:** <b>\_x\_</b>"#))
    }

    func testOneSummaryFeedsBothMessages() throws {
        let summary = EventSummary(try event(Self.pasarGuard))
        XCTAssertEqual(summary.rows.map(\.label), ["Status", "Data limit", "Used traffic", "Expire"])
        XCTAssertEqual(summary.rows.map(\.value), ["active", "10 GB", "1.50 GB", "2027-01-02 06:34:41 UTC"])
        XCTAssertEqual(summary.actor, "root")
        XCTAssertEqual(summary.owner, "owner")
        XCTAssertEqual(DiscordMessage.body(for: summary), DiscordMessage.body(for: try event(Self.pasarGuard)))
        XCTAssertEqual(TelegramMessage.body(for: summary, chatID: "1"),
                       TelegramMessage.body(for: try event(Self.pasarGuard), chatID: "1"))
    }
}
