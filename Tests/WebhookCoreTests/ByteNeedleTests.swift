import WebhookCore
import XCTest

/// The needle's skips must never jump over an occurrence: checked against a plain scan on
/// haystacks built from the needle's own bytes, where near misses and overlaps are common.
final class ByteNeedleTests: XCTestCase {
    private func plain(_ needle: [UInt8], in haystack: [UInt8]) -> Bool {
        guard haystack.count >= needle.count else { return false }
        return (0...(haystack.count - needle.count)).contains { haystack[$0..<($0 + needle.count)].elementsEqual(needle) }
    }

    func testFindsExactlyWhatAPlainScanFinds() {
        var generator = SystemRandomNumberGenerator()
        for text in [#""discord_webhook":"http"#, "abcab", "aaab", "a", "abab"] {
            let needle = ByteNeedle(text)
            let alphabet = Array(Set(needle.bytes)) + [UInt8(ascii: "x")]
            var found = 0
            for _ in 0..<3000 {
                let length = Int.random(in: 0...60, using: &generator)
                var haystack = (0..<length).map { _ in alphabet.randomElement(using: &generator)! }
                if Bool.random(using: &generator), length >= needle.bytes.count {
                    // Planted, sometimes with its last byte changed: a near miss.
                    let at = Int.random(in: 0...(length - needle.bytes.count), using: &generator)
                    haystack.replaceSubrange(at..<(at + needle.bytes.count), with: needle.bytes)
                    if Bool.random(using: &generator) { haystack[at + needle.bytes.count - 1] = UInt8(ascii: "x") }
                }
                let expected = plain(needle.bytes, in: haystack)
                if expected { found += 1 }
                XCTAssertEqual(needle.occurs(in: haystack), expected, "\(text) in \(String(decoding: haystack, as: UTF8.self))")
            }
            XCTAssertGreaterThan(found, 100, "\(text): the test must plant occurrences")
        }
    }

    func testAWebhookBodyWithAnAdminsDiscordURL() {
        let needle = ByteNeedle(#""discord_webhook":"http"#)
        XCTAssertTrue(needle.occurs(in: Array(#"{"by":{"username":"a","discord_webhook":"https://discord.com/api/webhooks/1/x"}}"#.utf8)))
        XCTAssertFalse(needle.occurs(in: Array(#"{"by":{"username":"a","discord_webhook":null}}"#.utf8)))
        XCTAssertFalse(needle.occurs(in: Array(#""discord_webhook":"htt"#.utf8)))
    }
}
