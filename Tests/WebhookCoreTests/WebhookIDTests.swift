import XCTest
@testable import WebhookCore

/// The `webhook-id` forms other tools rely on (receivers de-duplicate on them, the ingest's loop
/// check and `log --id` recognise them).
final class WebhookIDTests: XCTestCase {
    func testDerivedIsPrefixDigestAndTarget() {
        let code: [UInt8] = [0x79, 0x37, 0xcf, 0xcd, 0x64, 0xba, 0x93, 0x7f, 0x1c, 0x5d, 0xca, 0x47]
        let digest = code.withUnsafeBytes { EventDigest(code: $0) }
        XCTAssertEqual(digest.hex, "7937cfcd64ba937f1c5dca47")
        XCTAssertEqual(WebhookID.derived(digest: digest, targetID: "we1caea57b5aaac71"),
                       "msg_7937cfcd64ba937f1c5dca47_we1caea57b5aaac71")
    }

    func testRandomAndReplayForms() throws {
        let random = WebhookID.random(targetID: "w1")
        XCTAssertNotNil(random.wholeMatch(of: /msg_[0-9a-z]{24}_w1/), random)
        let replay = WebhookID.replay(targetID: "w1")
        XCTAssertNotNil(replay.wholeMatch(of: /msg_replay_[0-9a-z]{16}_w1/), replay)
        XCTAssertNotEqual(WebhookID.random(targetID: "w1"), WebhookID.random(targetID: "w1"))
    }
}
