import Crypto
import Foundation
import XCTest
@testable import WebhookCore

/// PrekeyedHMAC must give exactly the codes `WebhookSigner` (HMAC<SHA256>) gives, for keys shorter
/// than, equal to and longer than SHA-256's 64-byte block, and bodies of any length.
final class PrekeyedHMACTests: XCTestCase {
    func testHexMatchesTheSignerForEveryKeyAndBodyLength() {
        var random = SystemRandomNumberGenerator()
        for keyLength in [1, 16, 63, 64, 65, 200] {
            let key = (0..<keyLength).map { _ in UInt8.random(in: 0x21...0x7E, using: &random) }
            let secret = String(decoding: key, as: UTF8.self)
            let signer = WebhookSigner(secret: secret)
            let mac = PrekeyedHMAC(key: key)
            for bodyLength in [0, 1, 55, 56, 64, 100, 1000] {
                let body = (0..<bodyLength).map { _ in UInt8.random(in: 0...255, using: &random) }
                XCTAssertEqual(mac.hex(body), signer.hexSignature(body), "key \(keyLength), body \(bodyLength)")
                XCTAssertEqual(mac.hex(prefix: "x: ", body), "x: " + signer.hexSignature(body)!)
            }
        }
    }

    func testBase64MatchesTheStandardSignature() {
        for secret in ["plain", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", String(repeating: "k", count: 100)] {
            let signer = WebhookSigner(secret: secret)
            let mac = PrekeyedHMAC(key: WebhookSigner.standardKey(for: secret) ?? Array(secret.utf8))
            for body in [[], Array(#"{"test": 2432232314}"#.utf8), [UInt8](repeating: 7, count: 300)] {
                let head = Array("msg_p5jXN8AQM9LWM0D4loKWxJek.1614265330.".utf8)
                let fast = head.withUnsafeBytes { mac.base64(prefix: "v1,", $0, body) }
                XCTAssertEqual(fast, signer.standardSignature(id: "msg_p5jXN8AQM9LWM0D4loKWxJek",
                                                              timestamp: 1_614_265_330, body: body))
            }
        }
    }

    func testTheStandardWebhooksVector() {
        let mac = PrekeyedHMAC(key: WebhookSigner.standardKey(for: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")!)
        let head = Array("msg_p5jXN8AQM9LWM0D4loKWxJek.1614265330.".utf8)
        let signature = head.withUnsafeBytes { mac.base64(prefix: "v1,", $0, Array(#"{"test": 2432232314}"#.utf8)) }
        XCTAssertEqual(signature, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")
    }
}
