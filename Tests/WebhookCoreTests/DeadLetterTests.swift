import Foundation
import XCTest
@testable import WebhookCore

final class DeadLetterTests: XCTestCase {
    @discardableResult
    private func roundTrip(_ letter: DeadLetter, foundation: Bool = true,
                           file: StaticString = #filePath, line: UInt = #line) throws -> [String: Any] {
        let encoded = letter.encoded()
        XCTAssertFalse(encoded.contains(0x0A), "not compact", file: file, line: line)
        let decoded = try DeadLetter(decoding: encoded)
        XCTAssertEqual(decoded.payload, letter.payload, file: file, line: line)
        XCTAssertEqual(decoded.id, letter.id, file: file, line: line)
        XCTAssertEqual(decoded.targetID, letter.targetID, file: file, line: line)
        XCTAssertEqual(decoded.endpoint, letter.endpoint, file: file, line: line)
        XCTAssertEqual(decoded.kind, letter.kind, file: file, line: line)
        XCTAssertEqual(decoded.webhookID, letter.webhookID, file: file, line: line)
        XCTAssertEqual(decoded.attempts, letter.attempts, file: file, line: line)
        XCTAssertEqual(decoded.lastStatus, letter.lastStatus, file: file, line: line)
        XCTAssertEqual(decoded.lastError, letter.lastError, file: file, line: line)
        XCTAssertEqual(decoded.reason, letter.reason, file: file, line: line)
        XCTAssertEqual(decoded.failedAt, letter.failedAt, accuracy: 1e-6, file: file, line: line)
        guard foundation else { return [:] }
        return try XCTUnwrap(JSONSerialization.jsonObject(with: Data(encoded)) as? [String: Any], file: file, line: line)
    }

    func testJSONPayloadIsEmbeddedVerbatim() throws {
        let payload = Array(#"{"action":"user_created", "username":"a","n":1.50}"#.utf8)
        let letter = DeadLetter(payload: payload, target: Target(kind: .webhook, url: "http://127.0.0.1:9000/"),
                                webhookID: "msg_t_00000000", attempts: 4, lastStatus: 500, lastError: nil,
                                failedAt: 1_700_000_000.123456, reason: "gave up after 4 attempts: last answer HTTP 500")
        let object = try roundTrip(letter)
        XCTAssertEqual(object["reason"] as? String, letter.reason)
        XCTAssertEqual(object["endpoint"] as? String, "http://127.0.0.1:9000/")
        XCTAssertEqual(object["endpoint_id"] as? String, "we1caea57b5aaac71")
        XCTAssertTrue((object["id"] as? String)?.hasPrefix("dl_") == true)
        XCTAssertEqual(object["kind"] as? String, "webhook")
        XCTAssertEqual((object["payload"] as? [String: Any])?["username"] as? String, "a")
        XCTAssertTrue(String(decoding: letter.encoded(), as: UTF8.self).contains(#""payload":{"action":"user_created", "username":"a","n":1.50}"#))
        XCTAssertTrue(String(decoding: letter.encoded(), as: UTF8.self).contains(#""failed_at":1700000000.123456"#))
    }

    func testTextPayloadWithSpecialCharacters() throws {
        let letter = DeadLetter(payload: Array("not json: \"quoted\" \\ \n\t\u{01} é".utf8),
                                target: Target(kind: .discord, url: "https://discord.com/api/webhooks/1/x"),
                                attempts: 1, lastStatus: nil, lastError: "timeout \"after\" 10 s", failedAt: 5,
                                reason: "reason with \"quotes\"\nand a newline")
        let object = try roundTrip(letter)
        XCTAssertEqual(object["kind"] as? String, "discord")
        // The Discord token never reaches Redis: the endpoint is stored redacted.
        XCTAssertEqual(object["endpoint"] as? String, "https://discord.com/api/webhooks/1/***")
        XCTAssertEqual(object["payload"] as? String, "not json: \"quoted\" \\ \n\t\u{01} é")
        XCTAssertTrue(object["last_status"] is NSNull)
    }

    func testNonUTF8PayloadIsBase64() throws {
        let payload: [UInt8] = [0x7B, 0xFF, 0xFE, 0x00, 0x7D]
        let object = try roundTrip(DeadLetter(payload: payload, failedAt: 1, reason: EventError.invalidUTF8.reason))
        XCTAssertEqual(object["payload_base64"] as? String, Data(payload).base64EncodedString())
        XCTAssertNil(object["payload"])
        XCTAssertTrue(object["endpoint"] is NSNull)
    }

    func testAmbiguousPayloadsSurvive() throws {
        // A JSON string, a number, padded JSON and an empty payload must all come back byte for byte.
        for text in [#""just a string""#, "42", " {\"a\":1} ", "", "[1,2]"] {
            try roundTrip(DeadLetter(payload: Array(text.utf8), failedAt: 0, reason: "r"))
        }
        // An escaped lone surrogate is valid JSON (kept verbatim), though Foundation refuses it.
        try roundTrip(DeadLetter(payload: Array(#"{"a":"\ud800"}"#.utf8), failedAt: 0, reason: "r"), foundation: false)
    }

    func testDecodingRejectsGarbage() {
        XCTAssertThrowsError(try DeadLetter(decoding: Array("nope".utf8)))
        XCTAssertThrowsError(try DeadLetter(decoding: Array("[]".utf8)))
        XCTAssertThrowsError(try DeadLetter(decoding: Array(#"{"payload":{}}"#.utf8)))
        XCTAssertThrowsError(try DeadLetter(decoding: Array(#"{"reason":"r"}"#.utf8)))
    }

    func testOversizePayloadKeepsAPrefixItsLengthAndSHA256() throws {
        let payload = [UInt8](repeating: UInt8(ascii: "a"), count: 100_000)
        let letter = DeadLetter.oversize(payload, failedAt: 1, reason: "too large")
        let object = try roundTrip(letter)
        XCTAssertEqual((object["payload"] as? String)?.count, DeadLetter.truncatedPrefix)
        XCTAssertEqual(object["payload_length"] as? Int, 100_000)
        // python3 -c 'import hashlib; print(hashlib.sha256(b"a"*100000).hexdigest())'
        XCTAssertEqual(object["payload_sha256"] as? String,
                       "6d1cf22d7cc09b085dfc25ee1a1f3ae0265804c607bc2074ad253bcc82fd81ee")
        XCTAssertLessThan(letter.encoded().count, DeadLetter.truncatedPrefix + 1_000)
    }

    func testURLRedaction() {
        XCTAssertEqual(URLRedaction.redact("https://user:pw@h.example:8443/hook?token=abc#x"), "https://***@h.example:8443/hook?token=***#***")
        XCTAssertEqual(URLRedaction.redact("https://discord.com/api/webhooks/123456789012345678/AbCdEfGhIjKlMnOpQrStUvWxYz0123456789-_abcdefghijklmnop"),
                       "https://discord.com/api/webhooks/123456789012345678/***")
        XCTAssertEqual(URLRedaction.redact("https://api.telegram.org/bot123456:ABC-DEF/sendMessage"),
                       "https://api.telegram.org/bot***/sendMessage")
        XCTAssertEqual(URLRedaction.redact("http://127.0.0.1:9000/"), "http://127.0.0.1:9000/")
    }
}
