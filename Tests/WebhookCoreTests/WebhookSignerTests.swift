import XCTest
@testable import WebhookCore

final class WebhookSignerTests: XCTestCase {
    private let body = Array(#"{"test": 2432232314}"#.utf8)

    func testStandardWebhooksVector() {
        // The test vector of the Standard Webhooks reference libraries.
        let signer = WebhookSigner(secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
        XCTAssertEqual(signer.standardSignature(id: "msg_p5jXN8AQM9LWM0D4loKWxJek", timestamp: 1_614_265_330, body: body),
                       "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")
    }

    func testHexSignatureMatchesPythonHMAC() {
        // python3 -c "import hmac,hashlib; print(hmac.new(b'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
        //   b'{\"test\": 2432232314}', hashlib.sha256).hexdigest())"
        let signer = WebhookSigner(secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
        XCTAssertEqual(signer.hexSignature(body), "80ec8a89ce3cd22133a1066caecb4d04fea7467657c8514d717ec42c38a5c94c")

        // The seed's example: python3 -c "import hmac,hashlib; print(hmac.new(b'something-very-very-secret',
        //   b'{\"username\": \"example_user\", \"action\": \"user_created\", \"enqueued_at\": 1680506457.636369, \"tries\": 0}',
        //   hashlib.sha256).hexdigest())"
        let seed = Array(#"{"username": "example_user", "action": "user_created", "enqueued_at": 1680506457.636369, "tries": 0}"#.utf8)
        XCTAssertEqual(WebhookSigner(secret: "something-very-very-secret").hexSignature(seed),
                       "111b0991183a76938d5eb93d19e0877f4edff81ccec845df11bde4818b39fa77")
    }

    func testPlainSecretKeysStandardSignatureWithItsUTF8() {
        // python3 -c "import hmac,hashlib,base64; print(base64.b64encode(hmac.new(b'plain',
        //   b'msg_1.1.{\"test\": 2432232314}', hashlib.sha256).digest()).decode())"
        XCTAssertEqual(WebhookSigner(secret: "plain").standardSignature(id: "msg_1", timestamp: 1, body: body),
                       "v1,oEnwBfdCAfY7rjdWSKSgfItWzZTBuxLA+WQBQs7LaTg=")
        XCTAssertNil(WebhookSigner.standardKey(for: "plain"))
        XCTAssertEqual(WebhookSigner.standardKey(for: "whsec_AAEC"), [0, 1, 2])
        // A whsec_ secret that is not base64 falls back to the whole secret's bytes:
        // python3 -c "import hmac,hashlib,base64; print(base64.b64encode(hmac.new(b'whsec_!!', b'a.1.',
        //   hashlib.sha256).digest()).decode())"
        XCTAssertEqual(WebhookSigner(secret: "whsec_!!").standardSignature(id: "a", timestamp: 1, body: []),
                       "v1,EbQkjp4WrAeAgNCI3U7Pz7R/Bls0np3isj3FH+pzggE=")
    }

    func testDisabledWithoutSecret() {
        for signer in [WebhookSigner(secret: nil), WebhookSigner(secret: "")] {
            XCTAssertFalse(signer.isEnabled)
            XCTAssertNil(signer.hexSignature(body))
            XCTAssertNil(signer.standardSignature(id: "x", timestamp: 1, body: body))
        }
        XCTAssertTrue(WebhookSigner(secret: "s").isEnabled)
    }

    func testConstantTimeEquals() {
        XCTAssertTrue(WebhookSigner.constantTimeEquals(Array("abc".utf8), Array("abc".utf8)))
        XCTAssertFalse(WebhookSigner.constantTimeEquals(Array("abc".utf8), Array("abd".utf8)))
        XCTAssertFalse(WebhookSigner.constantTimeEquals(Array("abc".utf8), Array("abcd".utf8)))
        XCTAssertTrue(WebhookSigner.constantTimeEquals([UInt8](), [UInt8]()))
        XCTAssertTrue(WebhookSigner.constantTimeEquals("sig".utf8, Array("sig".utf8)[...]))
    }
}
