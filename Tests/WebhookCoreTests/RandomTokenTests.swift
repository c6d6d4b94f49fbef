import XCTest
@testable import WebhookCore
import TestSupport

/// `RandomToken` draws a 64-bit word per up to eight characters, rejecting bytes of 252 and more.
final class RandomTokenTests: XCTestCase {
    /// A generator that hands out the given words in turn and counts the draws.
    private struct Scripted: RandomNumberGenerator {
        var words: [UInt64]
        var draws = 0
        mutating func next() -> UInt64 {
            defer { draws += 1 }
            return words[draws % words.count]
        }
    }

    func testEightCharactersPerDrawFromTheAlphabet() {
        var generator = SplitMix64(seed: 7)
        var counts = [Character: Int]()
        for _ in 0..<2_000 {
            let token = RandomToken.make(16, using: &generator)
            XCTAssertNotNil(token.wholeMatch(of: /[0-9a-z]{16}/), token)
            for character in token { counts[character, default: 0] += 1 }
        }
        // 32,000 characters over 36 symbols: about 889 each; a biased or missing symbol shows.
        XCTAssertEqual(counts.count, 36)
        for (character, count) in counts { XCTAssert((740...1040).contains(count), "\(character): \(count)") }

        var scripted = Scripted(words: [0x2301_2301_2301_2301])
        XCTAssertEqual(RandomToken.make(16, using: &scripted), "1z1z1z1z1z1z1z1z")  // lowest byte first: 0x01 -> "1", 0x23 = 35 -> "z"
        XCTAssertEqual(scripted.draws, 2)
    }

    func testBytesOfTwoFiftyTwoAndMoreAreSkippedNotFolded() {
        // 252 % 36 == 0 and 255 % 36 == 3: folding them would favour "0" to "3".
        var generator = Scripted(words: [0xFFFE_FDFC_FFFF_FFFF, 0x0000_0000_0000_2524])
        // The first word's bytes are all 252 or more; the second's, lowest first: 36, 37, 0.
        XCTAssertEqual(RandomToken.make(3, using: &generator), "010")
        XCTAssertEqual(generator.draws, 2)
    }
}
