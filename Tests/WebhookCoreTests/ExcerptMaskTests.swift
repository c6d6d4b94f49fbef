import WebhookCore
import XCTest
import TestSupport

/// The excerpt mask's byte path must give exactly what `AttemptRecord.excerpt` gives whenever it
/// answers, and must not answer when a secret would be masked: checked on answers built from the
/// secrets' own bytes (planted whole, cut short, across the kept length and the searched window),
/// with bytes above ASCII and invalid UTF-8 among them, against secret sets that include short
/// ones, non-ASCII ones and the Kelvin sign (canonically equivalent to `K`).
final class ExcerptMaskTests: XCTestCase {
    private let secretSets: [[String]] = [
        [],
        ["hunter22"],
        ["hunter22", "ab", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"],
        ["s3cret-value", "global-secret", "Bearer tok"],
        ["\u{212A}ey1"],  // KELVIN SIGN: equal to "Key1" under canonical equivalence
        ["clé-secrète"],
    ]

    private func answer(_ secrets: [String], using random: inout SplitMix64) -> [UInt8] {
        let pieces = secrets.map { Array($0.utf8) } + [Array("Key1".utf8), Array("ok ".utf8), [0xC3, 0xA9], [0xFF], [0x0A]]
        let length = [0, 3, 40, 250, 256, 260, 300, 500][Int.random(in: 0..<8, using: &random)]
        var out: [UInt8] = []
        while out.count < length {
            switch Int.random(in: 0..<10, using: &random) {
            case 0: // a piece, maybe cut short
                let piece = pieces[Int.random(in: 0..<pieces.count, using: &random)]
                out += piece.prefix(Int.random(in: 0...piece.count, using: &random))
            case 1: // a piece across the kept length
                let piece = pieces[Int.random(in: 0..<pieces.count, using: &random)]
                if out.count < AttemptRecord.responseLimit - 2 {
                    out += Array(repeating: UInt8(ascii: "y"), count: AttemptRecord.responseLimit - 2 - out.count)
                }
                out += piece
            default:
                out.append(UInt8(ascii: "a") + UInt8(Int.random(in: 0..<26, using: &random)))
            }
        }
        return out
    }

    func testTheBytePathGivesExactlyTheExcerptAndNeverSkipsAMask() {
        var random = SplitMix64(seed: 0xE7C3)
        var byBytes = 0, masked = 0
        for secrets in secretSets {
            let mask = ExcerptMask(secrets: secrets)
            for _ in 0..<2000 {
                let body = answer(secrets, using: &random)
                let expected = AttemptRecord.excerpt(body, secrets: secrets)
                if let length = mask.plainLength(of: body) {
                    byBytes += 1
                    XCTAssertEqual(String(decoding: body[..<length], as: UTF8.self), expected, "\(secrets) \(body)")
                    XCTAssertEqual(Array(expected.utf8), Array(body[..<length]), "\(secrets) \(body)")
                } else if expected.contains("***") {
                    masked += 1
                }
            }
        }
        // Both ways were taken: the check above compared something.
        XCTAssertGreaterThan(byBytes, 1000)
        XCTAssertGreaterThan(masked, 100)
    }

    func testPlainAnswersTakeTheBytePath() {
        let mask = ExcerptMask(secrets: ["hunter22"])
        XCTAssertEqual(mask.plainLength(of: Array("received, thanks".utf8)), 16)
        XCTAssertEqual(mask.plainLength(of: Array(String(repeating: "z", count: 400).utf8)), AttemptRecord.responseLimit)
        XCTAssertNil(mask.plainLength(of: Array("token=hunter22".utf8)))
        XCTAssertNil(mask.plainLength(of: Array("café".utf8)), "above ASCII: excerpt's own way")
        // A secret just past the kept length is still searched (excerpt masks it before cutting).
        XCTAssertNil(mask.plainLength(of: Array((String(repeating: "y", count: 252) + "hunter22").utf8)))
        XCTAssertNil(ExcerptMask(secrets: ["\u{212A}ey1"]).plainLength(of: Array("Key1".utf8)), "a secret above ASCII")
    }
}
