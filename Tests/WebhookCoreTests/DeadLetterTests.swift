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
        XCTAssertEqual(decoded.target, letter.target, file: file, line: line)
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
}
