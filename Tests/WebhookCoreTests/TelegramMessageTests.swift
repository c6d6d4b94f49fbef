import Foundation
import XCTest
@testable import WebhookCore

final class TelegramMessageTests: XCTestCase {
    private func body(_ json: String, chat: String = "-100123") throws -> String {
        let event = try Event.parse(Array(json.utf8), maxBytes: 1 << 20, now: 1)
        let bytes = TelegramMessage.body(for: event, chatID: chat)
        // Always valid JSON with exactly the three fields.
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any])
        XCTAssertEqual(Set(object.keys), ["chat_id", "text", "parse_mode"])
        return String(decoding: bytes, as: UTF8.self)
    }

    func testFullMessageEscapesEveryValue() throws {
        let json = #"""
            {"action":"user_limited","username":"a<b>&\"c\"","used_percent":100,"days_left":3,"reason":"<script>",
             "by":{"username":"root&co"},
             "user":{"status":"limited","data_limit":10737418240,"used_traffic":1610612736,"expire":1767225600,
                     "admin":{"username":"<owner>"}}}
            """#
        XCTAssertEqual(try body(json), #"{"chat_id":"-100123","text":"<b>🪫 #Limited</b>\n➖➖➖➖➖➖➖➖➖\n<b>Username:</b> <code>a&lt;b&gt;&amp;&quot;c&quot;</code>\n<b>Status:</b> <code>limited</code>\n<b>Data limit:</b> <code>10 GB</code>\n<b>Used traffic:</b> <code>1.50 GB</code>\n<b>Expire:</b> <code>2026-01-01 00:00:00 UTC</code>\n<b>Used:</b> <code>100%</code>\n<b>Days left:</b> <code>3</code>\n<b>Reason:</b> &lt;script&gt;\n➖➖➖➖➖➖➖➖➖\n<b>By:</b> <code>root&amp;co</code>\n<b>Belongs to:</b> <code>&lt;owner&gt;</code>","parse_mode":"HTML"}"#)
    }

    func testMinimalAndUnknownActions() throws {
        XCTAssertEqual(try body(#"{"action":"user_created","username":"bob"}"#, chat: "42"),
                       #"{"chat_id":"42","text":"<b>🆕 #Created</b>\n➖➖➖➖➖➖➖➖➖\n<b>Username:</b> <code>bob</code>","parse_mode":"HTML"}"#)
        XCTAssertEqual(try body(#"{"action":"x<y","username":"","user":{"data_limit":null,"expire":0,"used_traffic":0}}"#),
                       #"{"chat_id":"-100123","text":"ℹ️ <b>x&lt;y</b>\n➖➖➖➖➖➖➖➖➖\n<b>Username:</b> <code></code>\n<b>Data limit:</b> <code>Unlimited</code>\n<b>Used traffic:</b> <code>0 B</code>\n<b>Expire:</b> <code>Never</code>","parse_mode":"HTML"}"#)
        for action in TelegramMessage.titles.keys {
            XCTAssertTrue(try body(#"{"action":"\#(action)","username":"u"}"#).contains(TelegramMessage.titles[action]!), action)
        }
    }

    func testHugeAndOddNumbersNeverTrap() throws {
        let json = #"""
            {"action":"user_updated","username":"u","used_percent":1e40,"days_left":-5.5,
             "user":{"data_limit":1e40,"used_traffic":1e308,"expire":1e40}}
            """#
        XCTAssertEqual(try body(json), #"{"chat_id":"-100123","text":"<b>✏️ #Modified</b>\n➖➖➖➖➖➖➖➖➖\n<b>Username:</b> <code>u</code>\n<b>Data limit:</b> <code>8.67e+21 EB</code>\n<b>Used traffic:</b> <code>8.67e+289 EB</code>\n<b>Expire:</b> <code>Never</code>\n<b>Used:</b> <code>1e+40%</code>\n<b>Days left:</b> <code>-5.50</code>","parse_mode":"HTML"}"#)
        // Strings and booleans where numbers belong are not shown as numbers.
        let odd = try body(#"{"action":"user_updated","username":"u","used_percent":true,"days_left":"3","user":{"data_limit":"big"}}"#)
        XCTAssertFalse(odd.contains("Used:"), odd)
        XCTAssertFalse(odd.contains("Days left"), odd)
        XCTAssertTrue(odd.contains("<b>Data limit:</b> <code>Unlimited</code>"), odd)
        XCTAssertTrue(try body(#"{"action":"a","username":"u","used_percent":1,"days_left":0}"#)
            .contains(#"<b>Used:</b> <code>1%</code>\n<b>Days left:</b> <code>0</code>"#))
    }

    func testLongValuesAreClipped() throws {
        let long = String(repeating: "<", count: 5000)
        let event = try Event.parse(Array(#"{"action":"user_created","username":"\#(long)","reason":"\#(long)"}"#.utf8), maxBytes: 1 << 20, now: 1)
        let text = TelegramMessage.text(for: event)
        XCTAssertTrue(text.contains("<code>" + String(repeating: "&lt;", count: 255) + "…</code>"))
        XCTAssertTrue(text.contains("<b>Reason:</b> " + String(repeating: "&lt;", count: 1023) + "…"))
        // Telegram counts the text after entity parsing: what shows here is 255 + 1023 characters and labels.
        XCTAssertLessThan(text.replacingOccurrences(of: "&lt;", with: "<").count, 4096)
    }

    func testRetryAfterFrom429Body() {
        XCTAssertEqual(TelegramMessage.retryAfter(Array(#"{"ok":false,"error_code":429,"description":"Too Many Requests: retry after 7","parameters":{"retry_after":7}}"#.utf8)), 7)
        XCTAssertEqual(TelegramMessage.retryAfter(Array(#"{"ok":false,"error_code":429,"parameters":{"retry_after":0.5}}"#.utf8)), 0.5)
        for body in [#"{"ok":false,"error_code":429}"#, #"{"parameters":{"retry_after":"7"}}"#, #"{"parameters":{"retry_after":-1}}"#,
                     #"{"parameters":{"retry_after":true}}"#, "not json", "", "[]"] {
            XCTAssertNil(TelegramMessage.retryAfter(Array(body.utf8)), body)
        }
    }

    func testEscape() {
        XCTAssertEqual(TelegramMessage.escape(#"<a href="x">&amp;</a> 'ok' ✓"#), "&lt;a href=&quot;x&quot;&gt;&amp;amp;&lt;/a&gt; 'ok' ✓")
    }
}
