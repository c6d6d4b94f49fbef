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

    /// RFC 4231 section 4's HMAC-SHA-256 cases: keys shorter than, and (6, 7) longer than a block,
    /// data shorter and (7) longer than a block; case 5 checks only the first 128 bits.
    func testRFC4231Vectors() {
        let cases: [(key: [UInt8], data: [UInt8], code: String)] = [
            ([UInt8](repeating: 0x0B, count: 20), Array("Hi There".utf8),
             "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"),
            (Array("Jefe".utf8), Array("what do ya want for nothing?".utf8),
             "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"),
            ([UInt8](repeating: 0xAA, count: 20), [UInt8](repeating: 0xDD, count: 50),
             "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"),
            (Array(1...25), [UInt8](repeating: 0xCD, count: 50),
             "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b"),
            ([UInt8](repeating: 0x0C, count: 20), Array("Test With Truncation".utf8),
             "a3b6167473100ee06e0c796c2955552b"),
            ([UInt8](repeating: 0xAA, count: 131), Array("Test Using Larger Than Block-Size Key - Hash Key First".utf8),
             "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"),
            ([UInt8](repeating: 0xAA, count: 131),
             Array(("This is a test using a larger than block-size key and a larger than block-size data. "
                    + "The key needs to be hashed before being used by the HMAC algorithm.").utf8),
             "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2"),
        ]
        for (number, test) in cases.enumerated() {
            let hex = PrekeyedHMAC(key: test.key).hex(test.data)
            XCTAssertEqual(String(hex.prefix(test.code.count)), test.code, "RFC 4231 test case \(number + 1)")
        }
    }

    /// One keyed value codes many messages, each split anywhere between `first` and `second`, on
    /// two threads at once, and every code is swift-crypto's `HMAC<SHA256>` of the whole message:
    /// no message leaves anything behind in the keyed states for the next, on either thread.
    func testManyMessagesOnTwoThreadsAtOnceMatchSwiftCrypto() {
        var random = SystemRandomNumberGenerator()
        let key = (0..<32).map { _ in UInt8.random(in: 0...255, using: &random) }
        let mac = PrekeyedHMAC(key: key)
        let messages = (0..<400).map { index in
            (0..<(index * 7 % 300)).map { _ in UInt8.random(in: 0...255, using: &random) }
        }
        let expected = messages.map { Array(HMAC<SHA256>.authenticationCode(for: $0, using: SymmetricKey(data: key))) }
        let mismatches = MismatchLog()
        let done = DispatchSemaphore(value: 0)
        let start = DispatchSemaphore(value: 0)
        for thread in 0..<2 {
            Thread {
                start.wait()
                for round in 0..<100 {
                    for (index, message) in messages.enumerated() {
                        let split = (index + round + thread) % (message.count + 1)
                        var code = [UInt8](repeating: 0, count: 32)
                        message.withUnsafeBytes { bytes in
                            code.withUnsafeMutableBytes { out in
                                mac.code(UnsafeRawBufferPointer(rebasing: bytes[..<split]),
                                         UnsafeRawBufferPointer(rebasing: bytes[split...]), into: out)
                            }
                        }
                        if code != expected[index] { mismatches.add("thread \(thread), message \(index), split \(split)") }
                    }
                }
                done.signal()
            }.start()
        }
        start.signal()
        start.signal()
        XCTAssertEqual(done.wait(timeout: .now() + 60), .success)
        XCTAssertEqual(done.wait(timeout: .now() + 60), .success)
        XCTAssertEqual(mismatches.entries, [])
    }
}

/// The mismatches both threads of `testManyMessagesOnTwoThreadsAtOnceMatchSwiftCrypto` found.
private final class MismatchLog: @unchecked Sendable {
    private let lock = NSLock()
    private var found: [String] = []

    func add(_ entry: String) {
        lock.lock()
        defer { lock.unlock() }
        found.append(entry)
    }

    var entries: [String] {
        lock.lock()
        defer { lock.unlock() }
        return found
    }
}
