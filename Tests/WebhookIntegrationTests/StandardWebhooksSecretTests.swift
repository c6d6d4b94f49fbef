import Crypto
import Foundation
import TestSupport
import XCTest

/// A `whsec_<base64>` secret end to end: `webhook-signature` is keyed with the base64-decoded
/// bytes (as Standard Webhooks libraries expect), verified here with swift-crypto directly.
final class StandardWebhooksSecretTests: WorkerTestCase {
    /// The 32 bytes 0x00 ... 0x1f, base64-encoded (Python: base64.b64encode(bytes(range(32)))).
    private let secret = "whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
    private let key = (0..<32).map { UInt8($0) }

    func testWhsecSecretSignsWithTheDecodedKey() async throws {
        let endpoint = try await receiver()
        let worker = try startWorker(["WEBHOOK_ADDRESS": endpoint.url, "WEBHOOK_SECRET": secret])
        try push(3)
        let requests = try await endpoint.waitForRequests(count: 3, timeout: 60)
        for request in requests {
            let id = try XCTUnwrap(request.header("webhook-id"))
            let timestamp = try XCTUnwrap(request.header("webhook-timestamp"))
            let signed = Array("\(id).\(timestamp).".utf8) + request.body
            let mac = HMAC<SHA256>.authenticationCode(for: signed, using: SymmetricKey(data: key))
            let expected = "v1," + Data(mac).base64EncodedString()
            let signatures = try XCTUnwrap(request.header("webhook-signature")).split(separator: " ").map(String.init)
            XCTAssertTrue(signatures.contains(expected), "\(signatures) must contain \(expected)")
            XCTAssertFalse(signatures.contains(standardSignature(id: id, timestamp: timestamp, body: request.body, secret: secret)),
                           "not keyed with the secret's text")
            XCTAssertEqual(request.header("x-webhook-secret"), hexHMAC(request.body, secret: secret))
        }
        await stop(worker)
        XCTAssertFalse(worker.log.contains("AAECAwQF"), "the secret never reaches the log")
    }
}
