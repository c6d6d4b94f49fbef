import Foundation
import XCTest
@testable import WebhookCore

final class EventTests: XCTestCase {
    private let now = 1_680_506_457.636369

    private func parse(_ text: String, maxBytes: Int = 1 << 20) throws(EventError) -> Event {
        try Event.parse(Array(text.utf8), maxBytes: maxBytes, now: now)
    }

    private func parseError(_ bytes: [UInt8], maxBytes: Int = 1 << 20) -> EventError? {
        do throws(EventError) { _ = try Event.parse(bytes, maxBytes: maxBytes, now: now); return nil } catch { return error }
    }

    func testKeepsProducerBytesAndReplacesTriesInPlace() throws {
        let text = #"{ "username" : "alice", "action":"user_created", "enqueued_at": 1.5, "tries": 0 , "x":[1] }"#
        let event = try parse(text)
        XCTAssertEqual(event.bytes, Array(text.utf8))
        XCTAssertEqual(event.action, "user_created")
        XCTAssertEqual(event.username, "alice")
        XCTAssertEqual(String(decoding: event.body(tries: 12), as: UTF8.self),
                       #"{ "username" : "alice", "action":"user_created", "enqueued_at": 1.5, "tries": 12 , "x":[1] }"#)
    }

    func testReplacesTriesOfAnyType() throws {
        for value in [#""three""#, "null", "[1,[2]]", #"{"a":{"b":1}}"#, "true", "-1.5e3"] {
            let event = try parse(#"{"action":"a","username":"u","enqueued_at":1,"tries":"# + value + "}")
            XCTAssertEqual(String(decoding: event.body(tries: 3), as: UTF8.self),
                           #"{"action":"a","username":"u","enqueued_at":1,"tries":3}"#, value)
        }
    }

    func testAppendsTriesAndEnqueuedAtWhenMissing() throws {
        let event = try parse(#"{"username":"bob","action":"user_deleted"}"#)
        XCTAssertEqual(String(decoding: event.bytes, as: UTF8.self),
                       #"{"username":"bob","action":"user_deleted","enqueued_at":1680506457.636369}"#)
        XCTAssertEqual(String(decoding: event.body(tries: 0), as: UTF8.self),
                       #"{"username":"bob","action":"user_deleted","enqueued_at":1680506457.636369,"tries":0}"#)
        XCTAssertEqual(event.string("username"), "bob")
        XCTAssertEqual(event.member("enqueued_at").map { String(decoding: $0, as: UTF8.self) }, "1680506457.636369")
    }

    func testSeedPayloadIsSentUnchanged() throws {
        let seed = #"{"username": "example_user", "action": "user_created", "enqueued_at": 1680506457.636369, "tries": 0}"#
        let event = try parse(seed)
        XCTAssertEqual(event.body(tries: 0), Array(seed.utf8))
    }

    func testWhitespaceBeforeClosingBraceAndAroundValue() throws {
        let event = try parse("\n {\"action\":\"a\",\"username\":\"u\",\"enqueued_at\":2 \n} \n")
        XCTAssertEqual(String(decoding: event.body(tries: 1), as: UTF8.self),
                       "\n {\"action\":\"a\",\"username\":\"u\",\"enqueued_at\":2 \n,\"tries\":1} \n")
        XCTAssertNoThrow(try JSONSerialization.jsonObject(with: Data(event.body(tries: 1))))
    }

    func testLastDuplicateWins() throws {
        let event = try parse(#"{"action":"first","username":"u","action":"second","enqueued_at":1,"tries":1,"tries":2}"#)
        XCTAssertEqual(event.action, "second")
        XCTAssertEqual(String(decoding: event.body(tries: 5), as: UTF8.self),
                       #"{"action":"first","username":"u","action":"second","enqueued_at":1,"tries":1,"tries":5}"#)
    }

    func testEscapedFieldsAreDecoded() throws {
        let event = try parse(#"{"\u0061ction":"user_\u0063reated","username":"\u00e9ric \"e\"","enqueued_at":1}"#)
        XCTAssertEqual(event.action, "user_created")
        XCTAssertEqual(event.username, "éric \"e\"")
    }

    func testRejections() {
        XCTAssertEqual(parseError(Array(repeating: 0x20, count: 11), maxBytes: 10), .tooLarge(size: 11, limit: 10))
        XCTAssertEqual(parseError([0x7B, 0xFF, 0x7D]), .invalidUTF8)
        XCTAssertEqual(parseError(Array(#"{"action":"a","username":"\#u{FFFD}"}"#.utf8).map { $0 == 0xBD ? 0xFF : $0 }), .invalidUTF8)
        XCTAssertEqual(parseError(Array("{x".utf8)), .notJSON("unexpected byte 'x' where a key was expected at offset 1"))
        XCTAssertEqual(parseError(Array("[1]".utf8)), .notAnObject(.array))
        XCTAssertEqual(parseError(Array("\"s\"".utf8)), .notAnObject(.string))
        XCTAssertEqual(parseError(Array(#"{"username":"u"}"#.utf8)), .missingAction)
        XCTAssertEqual(parseError(Array(#"{"username":"u","action":""}"#.utf8)), .missingAction)
        XCTAssertEqual(parseError(Array(#"{"username":"u","action":1}"#.utf8)), .missingAction)
        XCTAssertEqual(parseError(Array(#"{"action":"a"}"#.utf8)), .missingUsername)
        XCTAssertEqual(parseError(Array(#"{"action":"a","username":null}"#.utf8)), .missingUsername)
        XCTAssertNil(parseError(Array(#"{"action":"a","username":""}"#.utf8)))
    }

    func testReasonsAreReadable() {
        XCTAssertEqual(EventError.notJSON("unexpected byte 'x' at offset 3").reason, "not JSON: unexpected byte 'x' at offset 3")
        XCTAssertEqual(EventError.notAnObject(.array).reason, "not a JSON object: the payload is an array")
        XCTAssertTrue(EventError.tooLarge(size: 11, limit: 10).reason.contains("11"))
        XCTAssertTrue(EventError.missingAction.reason.contains("action"))
        XCTAssertTrue(EventError.missingUsername.reason.contains("username"))
        XCTAssertTrue(EventError.invalidUTF8.reason.contains("UTF-8"))
    }

    func testJSONWriterRendering() {
        var out: [UInt8] = []
        JSONWriter.appendInt(0, to: &out)
        out.append(0x20)
        JSONWriter.appendInt(-1234567890123, to: &out)
        out.append(0x20)
        JSONWriter.appendInt(Int.min, to: &out)
        XCTAssertEqual(String(decoding: out, as: UTF8.self), "0 -1234567890123 -9223372036854775808")
        XCTAssertEqual(JSONWriter.seconds(1_680_506_457.636369), "1680506457.636369")
        XCTAssertEqual(JSONWriter.seconds(2), "2.000000")
        XCTAssertEqual(JSONWriter.seconds(0.0000004), "0.000000")
        XCTAssertEqual(JSONWriter.seconds(.nan), "0")
        var string: [UInt8] = []
        JSONWriter.appendString("a\"\\\n\u{01}é", to: &string)
        XCTAssertEqual(String(decoding: string, as: UTF8.self), #""a\"\\\n\u0001é""#)
    }

    /// Escapes at the start, the end, side by side and between runs of plain text (which the
    /// writer copies a run at a time) all read back as the same string through Foundation.
    func testJSONWriterStringsReadBackThroughFoundation() throws {
        var generator = SystemRandomNumberGenerator()
        let pieces = ["", "a", "plain text", "\"", "\\", "\n", "\r", "\t", "\u{00}", "\u{1F}", "é", "😀", " ", "/"]
        var cases = ["", "\"", "\"\"", "x\"", "\"x", "\\\\\\", "\n\r\t"]
        for _ in 0..<300 {
            cases.append((0..<Int.random(in: 1...8, using: &generator)).map { _ in pieces.randomElement(using: &generator)! }.joined())
        }
        for text in cases {
            var out: [UInt8] = []
            JSONWriter.appendString(text, to: &out)
            let decoded = try JSONSerialization.jsonObject(with: Data(out), options: .fragmentsAllowed) as? String
            XCTAssertEqual(decoded, text, String(decoding: out, as: UTF8.self))
            XCTAssertFalse(out.dropFirst().dropLast().contains { $0 < 0x20 }, "a raw control byte in \(out)")
        }
    }

    /// The writer skips eight plain bytes at a time: every byte that needs an escape, and the
    /// plain ones beside the boundaries of those tests (0x1F/0x20, 0x7F/0x80, the neighbours of
    /// the quote and the backslash), at every position of strings of 0 to 40 bytes, is written
    /// as a byte-by-byte reference writes it.
    func testJSONWriterEscapesEveryByteAtEveryPositionOfAWord() {
        func reference(_ bytes: [UInt8]) -> [UInt8] {
            var out: [UInt8] = [UInt8(ascii: "\"")]
            for byte in bytes {
                switch byte {
                case 0x0A: out += Array(#"\n"#.utf8)
                case 0x0D: out += Array(#"\r"#.utf8)
                case 0x09: out += Array(#"\t"#.utf8)
                case 0x00..<0x20: out += Array(String(format: "\\u%04x", byte).utf8)
                case UInt8(ascii: "\""), UInt8(ascii: "\\"): out += [UInt8(ascii: "\\"), byte]
                default: out.append(byte)
                }
            }
            return out + [UInt8(ascii: "\"")]
        }
        let probes: [UInt8] = [0x00, 0x01, 0x09, 0x0A, 0x0D, 0x1F, 0x20, 0x21, 0x22, 0x23, 0x5B, 0x5C, 0x5D, 0x7F, 0x80, 0xA2, 0xDC, 0xFF]
        for length in 0...40 {
            for position in 0..<max(length, 1) {
                for probe in probes {
                    var text = [UInt8](repeating: UInt8(ascii: "a"), count: length)
                    if length > 0 { text[position] = probe }
                    var out: [UInt8] = []
                    text.withUnsafeBufferPointer { JSONWriter.appendString(bytes: $0, to: &out) }
                    XCTAssertEqual(out, reference(text), "length \(length), byte \(probe) at \(position)")
                }
            }
        }
        XCTAssertFalse(JSONWriter.needsEscape(0x7F7F_2020_8080_FFFF))
        XCTAssertTrue(JSONWriter.needsEscape(0x6161_6161_6161_611F))
        XCTAssertTrue(JSONWriter.needsEscape(0x5C61_6161_6161_6161))
    }

    /// Integers of every length, both signs, written as `String` writes them.
    func testJSONWriterIntegersOfEveryLength() {
        var values: [Int] = [0, 1, 9, 10, 99, 100, Int.max, Int.min, Int.min + 1]
        var power = 1
        for _ in 0..<18 {
            power *= 10
            values += [power - 1, power, power + 1, -power, -(power - 1)]
        }
        for value in values {
            var out: [UInt8] = Array("x".utf8)
            JSONWriter.appendInt(value, to: &out)
            XCTAssertEqual(String(decoding: out, as: UTF8.self), "x" + String(value))
        }
    }

    /// Numbers as `JSONSerialization` writes them (`status --json` moved from it to JSONWriter).
    func testJSONWriterNumbers() {
        for (value, expected) in [(0.0, "0"), (3.0, "3"), (1.234, "1.234"), (12.5, "12.5"), (0.001, "0.001"),
                                  (86400.123, "86400.123"), (-2.0, "-2"), (Double.infinity, "0")] {
            var out: [UInt8] = []
            JSONWriter.appendNumber(value, to: &out)
            XCTAssertEqual(String(decoding: out, as: UTF8.self), expected, "\(value)")
        }
    }
}
