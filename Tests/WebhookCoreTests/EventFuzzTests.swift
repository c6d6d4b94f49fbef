import Foundation
import XCTest
@testable import WebhookCore
import TestSupport

/// Random and mutated inputs through `Event.parse`, checked against Foundation's parser.
final class EventFuzzTests: XCTestCase {
    private let seeds: [String] = [
        #"{"username": "example_user", "action": "user_created", "enqueued_at": 1680506457.636369, "tries": 0}"#,
        #"{"action":"user_limited","username":"alice","by":{"username":"admin","is_sudo":true,"telegram_id":null},"user":{"data_limit":10737418240,"expire":null,"status":"limited","used_traffic":1.5e3,"proxies":{"vless":{"flow":""}}}}"#,
        #" {"username":"\u00e9ric","action":"reached_usage_percent","used_percent":80,"tries":[1,2],"note":"line\nbreak \"quoted\" 😀"} "#,
        #"{"action":"user_deleted","username":"b","send_at":-1.25E-2,"x":[[],{},[{"y":false}]]}"#,
    ]

    func testRandomAndMutatedInputsAgreeWithFoundation() throws {
        var random = SplitMix64(seed: 0x5EED_2024)
        let pieces = [#"""#, "{", "}", "[", "]", ",", ":", #"\u"#, "\\", "tries", "action", "username", "1", "-", "e", "null",
                      #""action":"x""#, #""username":"y""#, #""tries":"#, " ", "\n", "é", "\u{0}"].map { Array($0.utf8) }
        var accepted = 0, compared = 0, foundationAccepted = 0
        for round in 0..<24_000 {
            let input: [UInt8]
            if round % 8 == 0 {
                input = (0..<Int.random(in: 0..<64, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) }
            } else {
                var bytes = Array(seeds[Int.random(in: 0..<seeds.count, using: &random)].utf8)
                for _ in 0..<Int.random(in: 1...3, using: &random) {
                    mutate(&bytes, pieces: pieces, random: &random)
                }
                input = bytes
            }
            let outcome = check(input, round: round)
            if outcome.accepted { accepted += 1 }
            if outcome.compared { compared += 1 }
            if outcome.compared && outcome.foundationAccepted { foundationAccepted += 1 }
        }
        // The corpus must exercise both outcomes, or the test proves nothing.
        XCTAssertGreaterThan(accepted, 2_000)
        XCTAssertGreaterThan(foundationAccepted, 2_000)
        XCTAssertGreaterThan(compared, 20_000)
    }

    /// Runs one input; returns whether it parsed, whether Foundation's answer was compared and
    /// whether Foundation accepted it.
    private func check(_ input: [UInt8], round: Int) -> (accepted: Bool, compared: Bool, foundationAccepted: Bool) {
        let ours: Event?
        do throws(EventError) { ours = try Event.parse(input, maxBytes: 1 << 20, now: 1_700_000_000.25) } catch { ours = nil }
        let foundation = try? JSONSerialization.jsonObject(with: Data(input), options: [.fragmentsAllowed])
        let context = "round \(round): \(Array(input))"
        var compared = false

        if let foundation {
            if !foundationOnlyLeniency(input) {
                compared = true
                let dictionary = foundation as? [String: Any]
                let foundationSaysEvent = (dictionary?["action"] as? String).map { !$0.isEmpty } == true
                    && dictionary?["username"] is String
                XCTAssertEqual(ours != nil, foundationSaysEvent, context)
            }
        } else if ours != nil {
            // Foundation rejects escaped lone surrogates and numbers it cannot represent.
            XCTAssertTrue(hasSurrogateEscapeOrHugeNumber(input), "accepted what Foundation rejects: \(context)")
        } else {
            compared = true  // both reject
        }

        guard let event = ours else { return (false, compared, foundation != nil) }
        let body = event.body(tries: 7)
        guard let document = try? JSONScanner.scan(body), document.kind == .object else {
            XCTFail("body is not a JSON object: \(context)")
            return (true, compared, foundation != nil)
        }
        XCTAssertEqual(document.member("tries").map { Array(body[$0.valueRange]) }, Array("7".utf8), context)
        if let original = foundation as? [String: Any] {
            guard let parsed = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any] else {
                XCTFail("Foundation rejects the body: \(context)")
                return (true, compared, foundation != nil)
            }
            XCTAssertEqual((parsed["tries"] as? NSNumber)?.intValue, 7, context)
            var expected = original
            expected["tries"] = 7
            if expected["enqueued_at"] == nil { expected["enqueued_at"] = 1_700_000_000.25 }
            XCTAssertTrue(NSDictionary(dictionary: expected).isEqual(to: parsed), context)
        }
        return (true, compared, foundation != nil)
    }

    private func mutate(_ bytes: inout [UInt8], pieces: [[UInt8]], random: inout SplitMix64) {
        let position = bytes.isEmpty ? 0 : Int.random(in: 0..<bytes.count, using: &random)
        switch Int.random(in: 0..<6, using: &random) {
        case 0 where !bytes.isEmpty:  // bit flip
            bytes[position] ^= 1 << UInt8.random(in: 0..<8, using: &random)
        case 1:  // truncation
            bytes.removeSubrange(position...)
        case 2:  // random byte inserted
            bytes.insert(UInt8.random(in: 0...255, using: &random), at: position)
        case 3 where !bytes.isEmpty:  // deletion of a short run
            bytes.removeSubrange(position..<min(bytes.count, position + Int.random(in: 1...4, using: &random)))
        case 4:  // a JSON-ish token inserted
            bytes.insert(contentsOf: pieces[Int.random(in: 0..<pieces.count, using: &random)], at: position)
        default:  // splice: a run of the input copied elsewhere
            guard !bytes.isEmpty else { return }
            let start = Int.random(in: 0..<bytes.count, using: &random)
            let run = Array(bytes[start..<min(bytes.count, start + Int.random(in: 1...16, using: &random))])
            bytes.insert(contentsOf: run, at: position)
        }
    }

    /// Foundation accepts a BOM, UTF-16/32 input (NUL bytes), trailing commas and deeper
    /// nesting than RFC-strict scanning allows here: such inputs are not compared.
    private func foundationOnlyLeniency(_ input: [UInt8]) -> Bool {
        if input.starts(with: [0xEF, 0xBB, 0xBF]) || input.contains(0) { return true }
        var previousSignificant: UInt8 = 0
        var depth = 0, maxDepth = 0
        for byte in input {
            switch byte {
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                if previousSignificant == UInt8(ascii: ",") { return true }
                depth -= 1
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                depth += 1
                maxDepth = max(maxDepth, depth)
            default: break
            }
            if ![0x20, 0x09, 0x0A, 0x0D].contains(byte) { previousSignificant = byte }
        }
        return maxDepth > JSONScanner.maxDepth
    }

    private func hasSurrogateEscapeOrHugeNumber(_ input: [UInt8]) -> Bool {
        let text = String(decoding: input, as: UTF8.self).lowercased()
        return text.contains("\\ud") || text.range(of: #"[0-9]e[+-]?[0-9]{3}"#, options: .regularExpression) != nil
            || text.range(of: #"[0-9]{300}"#, options: .regularExpression) != nil
    }
}
