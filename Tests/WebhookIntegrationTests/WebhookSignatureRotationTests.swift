import Foundation
import TestSupport
import WebhookCore
import XCTest

/// A rotated endpoint's `webhook-signature` verifies with the Python `standardwebhooks` library
/// (the Standard Webhooks reference implementation) under each secret alone, and not under a
/// secret it was not signed with.
final class WebhookSignatureRotationTests: XCTestCase {
    func testEachRotatedSecretVerifiesWithStandardWebhooks() throws {
        let newest = "whsec_" + Data((0..<24).map { _ in UInt8.random(in: 0...255) }).base64EncodedString()
        let older = "older-plain-secret"
        let signer = WebhookSigner(secrets: [newest, older])
        let body = #"{"action":"user_created","username":"alice","tries":0}"#
        let id = "msg_rotation_test"
        let timestamp = Int(Date().timeIntervalSince1970)
        let signature = try XCTUnwrap(signer.standardSignatures(id: id, timestamp: timestamp, body: Array(body.utf8)))
        XCTAssertEqual(signature.split(separator: " ").count, 2)

        // A whsec_ secret goes to the library as written; any other is its raw UTF-8 bytes,
        // which is how WebhookSigner keys it.
        let script = """
            import json, sys
            from standardwebhooks import Webhook, WebhookVerificationError
            request = json.load(sys.stdin)
            for secret in request["secrets"]:
                key = secret if secret.startswith("whsec_") else secret.encode()
                try:
                    Webhook(key).verify(request["body"], request["headers"], json_parse=False)
                    print("verified")
                except WebhookVerificationError as error:
                    print("rejected", error)
            """
        let request: [String: Any] = [
            "secrets": [newest, older, "not-a-secret-used"],
            "body": body,
            "headers": ["webhook-id": id, "webhook-timestamp": String(timestamp), "webhook-signature": signature],
        ]
        let verifier = try Subprocess.run("python3", ["-c", script], stdin: Array(try JSONSerialization.data(withJSONObject: request)))
        XCTAssertEqual(verifier.status, 0, verifier.stderr)
        let output = verifier.stdout
        XCTAssertEqual(output.split(separator: "\n").map { String($0.prefix(8)) }, ["verified", "verified", "rejected"], output)
    }
}
