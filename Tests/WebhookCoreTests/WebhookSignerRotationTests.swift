import XCTest
@testable import WebhookCore

/// Key rotation: one `v1,` signature per secret. The expected values were computed with the
/// Python `standardwebhooks` library (1.1.0), e.g.
/// `Webhook("whsec_b2xkZXItc2VjcmV0LWJ5dGVz").sign("msg_p5jXN8AQM9LWM0D4loKWxJek",
///  datetime.fromtimestamp(1614265330, tz=timezone.utc), '{"test": 2432232314}')`, and
/// `Webhook(b"old-plain")` for a secret used as raw bytes. WebhookSignatureRotationTests (an
/// integration test) verifies fresh signatures with that library too.
final class WebhookSignerRotationTests: XCTestCase {
    private let body = Array(#"{"test": 2432232314}"#.utf8)
    private let id = "msg_p5jXN8AQM9LWM0D4loKWxJek"
    private let timestamp = 1_614_265_330

    func testOneSignaturePerSecretNewestFirst() {
        let signer = WebhookSigner(secrets: ["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "whsec_b2xkZXItc2VjcmV0LWJ5dGVz", "old-plain"])
        XCTAssertEqual(signer.standardSignatures(id: id, timestamp: timestamp, body: body),
                       "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE= v1,UISv4Jh+Ay2q6JiAooXDZIzHHtioADGVyTKVv4w4OhE= v1,whjGXND4NzS8xop4AcVD23Y0CgoJMUsdSz4i99aG4s4=")
        // x-webhook-secret and the single signature come from the first (newest) secret.
        XCTAssertEqual(signer.hexSignature(body), WebhookSigner(secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").hexSignature(body))
        XCTAssertEqual(signer.standardSignature(id: id, timestamp: timestamp, body: body), "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")
    }

    func testOneSecretIsTheSingleSignatureAndNoneIsUnsigned() {
        let one = WebhookSigner(secrets: ["", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"])
        XCTAssertEqual(one.standardSignatures(id: id, timestamp: timestamp, body: body), "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")
        XCTAssertEqual(WebhookSigner(secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").standardSignatures(id: id, timestamp: timestamp, body: body),
                       "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")
        for signer in [WebhookSigner(secrets: []), WebhookSigner(secrets: ["", ""])] {
            XCTAssertFalse(signer.isEnabled)
            XCTAssertNil(signer.standardSignatures(id: id, timestamp: timestamp, body: body))
            XCTAssertNil(signer.hexSignature(body))
        }
    }
}
