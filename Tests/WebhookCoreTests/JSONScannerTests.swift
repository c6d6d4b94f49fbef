import XCTest
@testable import WebhookCore

final class JSONScannerTests: XCTestCase {
    private func scan(_ bytes: [UInt8]) -> Result<JSONDocument, JSONScanError> {
        do throws(JSONScanError) { return .success(try JSONScanner.scan(bytes)) } catch { return .failure(error) }
    }

    func testAcceptsValidTexts() {
        let valid: [String] = [
            "{}", "[]", "0", "-0", "1.5e10", "-12.5E-3", "1E+2", "\"\"", "true", "false", "null",
            " \t\r\n{ } \n", #"{"a":[1,2,{"b":null}],"c":"d"}"#, #"[[],[[]],{}]"#,
            #""\"\\\/\b\f\n\r\t\u0041\u00e9""#,
            #""\ud83d\ude00""#,              // a surrogate pair
            #""\ud800""#, #""\udc00x""#,     // escaped lone surrogates: allowed by the RFC grammar
            "\"é€😀\"",                     // 2-, 3- and 4-byte UTF-8
            "\"\u{7F}\"",                   // DEL is not a control character for JSON
            #"{"a":1,"a":2}"#,               // duplicate keys are grammatical
            "123456789012345678901234567890", "1e999",
        ]
        for text in valid {
            if case .failure(let error) = scan(Array(text.utf8)) { XCTFail("rejected \(text): \(error)") }
        }
    }

    func testRejectsInvalidTexts() {
        let invalid: [(String, [UInt8])] = [
            ("empty", []), ("only whitespace", Array("  ".utf8)),
            ("trailing comma in object", Array(#"{"a":1,}"#.utf8)), ("trailing comma in array", Array("[1,]".utf8)),
            ("leading zero", Array("01".utf8)), ("bare minus", Array("-".utf8)), ("dot without digits", Array("1.".utf8)),
            ("leading dot", Array(".5".utf8)), ("plus sign", Array("+1".utf8)), ("exponent without digits", Array("1e".utf8)),
            ("NaN", Array("NaN".utf8)), ("Infinity", Array("Infinity".utf8)), ("single quotes", Array("'a'".utf8)),
            ("unquoted key", Array("{a:1}".utf8)), ("missing colon", Array(#"{"a" 1}"#.utf8)),
            ("missing value", Array(#"{"a":}"#.utf8)), ("missing comma", Array("[1 2]".utf8)),
            ("unterminated string", Array(#""abc"#.utf8)), ("unterminated object", Array(#"{"a":1"#.utf8)),
            ("unterminated array", Array("[1,2".utf8)), ("trailing garbage", Array(#"{"a":1} x"#.utf8)),
            ("two values", Array("1 2".utf8)), ("truncated literal", Array("tru".utf8)), ("wrong literal", Array("nul".utf8)),
            ("capitalised literal", Array("True".utf8)), ("raw tab in string", Array("\"\t\"".utf8)),
            ("raw newline in string", Array("\"\n\"".utf8)), ("NUL in string", [0x22, 0x00, 0x22]),
            ("bad escape", Array(#""\x""#.utf8)), ("short unicode escape", Array(#""\u12""#.utf8)),
            ("non-hex unicode escape", Array(#""\u12G4""#.utf8)), ("comment", Array("[1]//".utf8)),
            ("form feed as whitespace", Array("[1]\u{0C}".utf8)), ("BOM", [0xEF, 0xBB, 0xBF] + Array("{}".utf8)),
            ("trailing NUL", Array("{}".utf8) + [0]),
            ("lone continuation byte", [0x22, 0x80, 0x22]), ("truncated 2-byte", [0x22, 0xC3, 0x22]),
            ("overlong slash", [0x22, 0xC0, 0xAF, 0x22]), ("overlong C1", [0x22, 0xC1, 0xBF, 0x22]),
            ("overlong 3-byte", [0x22, 0xE0, 0x80, 0xAF, 0x22]), ("overlong 4-byte", [0x22, 0xF0, 0x80, 0x80, 0xAF, 0x22]),
            ("encoded surrogate", [0x22, 0xED, 0xA0, 0x80, 0x22]), ("above U+10FFFF", [0x22, 0xF4, 0x90, 0x80, 0x80, 0x22]),
            ("F5 lead byte", [0x22, 0xF5, 0x80, 0x80, 0x80, 0x22]), ("FF byte", [0x22, 0xFF, 0x22]),
            ("truncated 4-byte at end", [0x22, 0xF0, 0x9F, 0x98]),
            ("non-ASCII outside strings", [0x7B, 0xC3, 0xA9, 0x7D]),
        ]
        for (name, bytes) in invalid {
            if case .success = scan(bytes) { XCTFail("accepted \(name)") }
        }
    }

    func testErrorsCarryOffsetAndMessage() throws {
        guard case .failure(let error) = scan(Array(#"{"a":x}"#.utf8)) else { return XCTFail("accepted") }
        XCTAssertEqual(error.offset, 5)
        XCTAssertEqual(error.message, "unexpected byte 'x'")
        XCTAssertEqual(error.description, "unexpected byte 'x' at offset 5")

        guard case .failure(let trailing) = scan(Array("{} !".utf8)) else { return XCTFail("accepted") }
        XCTAssertEqual(trailing.offset, 3)
        guard case .failure(let utf8) = scan([0x22, 0x61, 0xFF, 0x22]) else { return XCTFail("accepted") }
        XCTAssertEqual(utf8.offset, 2)
        XCTAssertTrue(utf8.message.contains("UTF-8"))
        guard case .failure(let end) = scan(Array("[1,".utf8)) else { return XCTFail("accepted") }
        XCTAssertEqual(end.offset, 3)
    }

    func testDepthLimit() {
        let limit = JSONScanner.maxDepth
        func nested(_ depth: Int, open: String, close: String) -> [UInt8] {
            Array((String(repeating: open, count: depth) + String(repeating: close, count: depth)).utf8)
        }
        if case .failure(let error) = scan(nested(limit, open: "[", close: "]")) { XCTFail("depth \(limit) rejected: \(error)") }
        if case .success = scan(nested(limit + 1, open: "[", close: "]")) { XCTFail("depth \(limit + 1) accepted") }
        let objects = String(repeating: #"{"a":"#, count: limit) + "1" + String(repeating: "}", count: limit)
        if case .failure = scan(Array(objects.utf8)) { XCTFail("object depth \(limit) rejected") }
        let deeper = String(repeating: #"{"a":"#, count: limit + 1) + "1" + String(repeating: "}", count: limit + 1)
        if case .success = scan(Array(deeper.utf8)) { XCTFail("object depth \(limit + 1) accepted") }
        // Far beyond the limit must fail cleanly, not exhaust the stack.
        if case .success = scan(Array(String(repeating: "[", count: 100_000).utf8)) { XCTFail("accepted") }
    }

    func testRecordsTopLevelMembers() throws {
        let text = Array(#" { "a" : 1 , "b\u0063":[1, {"x":2}], "s":"t", "n":null, "f":false } "#.utf8)
        let document = try JSONScanner.scan(text)
        XCTAssertEqual(document.kind, .object)
        XCTAssertEqual(document.range, 1..<(text.count - 1))
        XCTAssertEqual(document.members.map(\.key), ["a", "bc", "s", "n", "f"])
        XCTAssertEqual(document.members.map(\.kind), [.number, .array, .string, .null, .bool])
        let slices = document.members.map { String(decoding: text[$0.valueRange], as: UTF8.self) }
        XCTAssertEqual(slices, ["1", #"[1, {"x":2}]"#, #""t""#, "null", "false"])
        XCTAssertEqual(String(decoding: text[document.members[1].keyRange], as: UTF8.self), #""b\u0063""#)
        XCTAssertTrue(document.elements.isEmpty)
    }

    func testRecordsTopLevelElementsAndScalars() throws {
        let text = Array(#"[1, "two" ,[3],{}]"#.utf8)
        let document = try JSONScanner.scan(text)
        XCTAssertEqual(document.kind, .array)
        XCTAssertEqual(document.elements.map { String(decoding: text[$0], as: UTF8.self) }, ["1", #""two""#, "[3]", "{}"])
        XCTAssertEqual(try JSONScanner.scan(Array(" 42 ".utf8)).range, 1..<3)
        XCTAssertEqual(try JSONScanner.scan(Array("\"x\"".utf8)).kind, .string)
    }

    func testDuplicateKeysKeepInputOrderAndLastWins() throws {
        let text = Array(#"{"a":1,"a":2}"#.utf8)
        let document = try JSONScanner.scan(text)
        XCTAssertEqual(document.members.count, 2)
        XCTAssertEqual(document.member("a").map { String(decoding: text[$0.valueRange], as: UTF8.self) }, "2")
    }

    func testScansSlicesRelativeToTheirStart() throws {
        let bytes = Array(#"#tag {"a":1}"#.utf8)
        let document = try JSONScanner.scan(bytes[5...])
        XCTAssertEqual(document.range, 0..<7)
        XCTAssertEqual(document.members.first?.valueRange, 5..<6)
    }

    func testDecodeString() {
        func decode(_ literal: String) -> String? {
            let bytes = Array(literal.utf8)
            return JSONScanner.decodeString(bytes, 0..<bytes.count)
        }
        XCTAssertEqual(decode(#""plain""#), "plain")
        XCTAssertEqual(decode(#""a\"b\\c\/d\n\t\r\b\f""#), "a\"b\\c/d\n\t\r\u{08}\u{0C}")
        XCTAssertEqual(decode(#""\u00e9\u20AC""#), "é€")
        XCTAssertEqual(decode(#""\ud83d\ude00""#), "😀")
        XCTAssertEqual(decode(#""\ud800x""#), "\u{FFFD}x")
        XCTAssertEqual(decode(#""\udc00\ud800""#), "\u{FFFD}\u{FFFD}")
        XCTAssertEqual(decode("\"é\""), "é")
        XCTAssertNil(decode(#""\q""#))
        XCTAssertNil(decode("noquotes"))
        XCTAssertNil(JSONScanner.decodeString(Array("\"a\"".utf8), 0..<10))
    }

    func testUTF8Validation() {
        XCTAssertTrue(JSONScanner.isValidUTF8(Array("héllo €😀".utf8)))
        XCTAssertTrue(JSONScanner.isValidUTF8([]))
        XCTAssertFalse(JSONScanner.isValidUTF8([0xC0, 0x80]))
        XCTAssertFalse(JSONScanner.isValidUTF8([0xED, 0xBF, 0xBF]))
        XCTAssertFalse(JSONScanner.isValidUTF8([0xE2, 0x82]))
        XCTAssertTrue(JSONScanner.isValidUTF8([0xF4, 0x8F, 0xBF, 0xBF]))
    }
}

/// The string scanner's word-at-a-time path must stop at every byte that needs a look: each
/// one, at every position of strings of 0 to 40 bytes, against what JSON says of it.
final class JSONScannerWordTests: XCTestCase {
    private enum Expect { case accept(String), reject }

    func testEveryByteThatNeedsALookIsSeenAtEveryPositionOfAWord() {
        let cases: [(name: String, bytes: [UInt8], expect: (String, String) -> Expect)] = [
            ("control 0x01", [0x01], { _, _ in .reject }),
            ("control 0x1F", [0x1F], { _, _ in .reject }),
            ("tab", [0x09], { _, _ in .reject }),
            ("space", [0x20], { a, b in .accept(a + " " + b) }),
            ("DEL", [0x7F], { a, b in .accept(a + "\u{7F}" + b) }),
            ("escaped newline", Array(#"\n"#.utf8), { a, b in .accept(a + "\n" + b) }),
            ("escaped quote", Array(#"\""#.utf8), { a, b in .accept(a + "\"" + b) }),
            ("two-byte UTF-8", [0xC3, 0xA9], { a, b in .accept(a + "é" + b) }),
            ("invalid UTF-8", [0xFF], { _, _ in .reject }),
            ("lone continuation byte", [0x80], { _, _ in .reject }),
            ("a bare quote", [UInt8(ascii: "\"")], { _, _ in .reject }),  // the rest is left over
        ]
        for length in 0...40 {
            for position in 0...length {
                let before = String(repeating: "a", count: position), after = String(repeating: "b", count: length - position)
                for (name, special, expect) in cases {
                    let text: [UInt8] = Array("\"\(before)".utf8) + special + Array("\(after)\"".utf8)
                    let result = try? JSONScanner.scan(text)
                    switch expect(before, after) {
                    case .reject:
                        XCTAssertNil(result, "\(name) at \(position) of \(length): accepted")
                    case .accept(let decoded):
                        guard let document = result else {
                            XCTFail("\(name) at \(position) of \(length): rejected")
                            continue
                        }
                        XCTAssertEqual(JSONScanner.decodeString(text, document.range), decoded, "\(name) at \(position) of \(length)")
                    }
                }
            }
        }
    }
}
