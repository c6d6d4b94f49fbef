import TestSupport
import WebhookCore
import XCTest

/// `HashedKey` gives dictionaries its own hash (`_rawHashValue(seed:)`) instead of SipHash's:
/// tables keyed by it must still find exactly what tables keyed by the plain strings find.
final class HashedKeyTests: XCTestCase {
    func testADictionaryOfHashedKeysAgreesWithOneOfStringsThroughAddsAndRemoves() {
        var random = SplitMix64(seed: 36)
        // Ids alike at both ends and in length, as targets' ids are ("w" + 16 hex digits).
        let strings = (0..<3000).map { _ in "w" + String(random.next() & 0xffff_ffff, radix: 16) }
        var hashed: [HashedKey: Int] = [:], plain: [String: Int] = [:]
        for step in 0..<40_000 {
            let string = strings[Int(random.next() % UInt64(strings.count))]
            if random.next() % 3 == 0 {
                XCTAssertEqual(hashed.removeValue(forKey: HashedKey(string)), plain.removeValue(forKey: string), "step \(step)")
            } else {
                hashed[HashedKey(string), default: 0] += step
                plain[string, default: 0] += step
            }
        }
        XCTAssertEqual(hashed.count, plain.count)
        for string in strings {
            XCTAssertEqual(hashed[HashedKey(string)], plain[string], string)
        }
        XCTAssertEqual(Set(hashed.keys.map(\.string)), Set(plain.keys))
    }

    func testEqualStringsMakeEqualKeysWithEqualHashesWhateverTheSeed() {
        let a = HashedKey("n1234abcd"), b = HashedKey(String("n1234abcd".reversed().reversed()))
        XCTAssertEqual(a, b)
        XCTAssertNotEqual(a, HashedKey("n1234abce"))
        for seed in [0, 1, -1, Int.max, 0x5eed] {
            XCTAssertEqual(a._rawHashValue(seed: seed), b._rawHashValue(seed: seed))
        }
        XCTAssertEqual(a.hashValue, b.hashValue)
        XCTAssertEqual(Set([a, b]).count, 1)
    }
}
