import Foundation
import TestSupport
import XCTest

/// `drop_fields` end to end: the receiver gets the event without the listed fields, signed over
/// exactly that body (verified with the Python `standardwebhooks` library, not our code), while an
/// endpoint without it gets every byte; the operator is told once that payloads carry admins'
/// Discord URLs.
final class DropFieldsTests: WorkerTestCase {
    func testStrippedBodyVerifiesWithStandardWebhooksAndOtherEndpointsKeepEveryByte() async throws {
        let stripped = try await receiver(), full = try await receiver()
        let secret = "whsec_" + Data((0..<24).map { _ in UInt8.random(in: 0...255) }).base64EncodedString()
        let file = """
        endpoints:
          - name: billing
            url: \(stripped.url)
            secret: "\(secret)"
            drop_fields: [user.admin.discord_webhook, by.discord_webhook]
          - name: archive
            url: \(full.url)
            secret: "\(secret)"
        """
        let worker = try WorkerProcess(["run"], environment: environment(["WEBHOOK_ENDPOINTS_FILE": "endpoints.yaml"]),
                                       files: ["endpoints.yaml": file])
        defer { worker.kill() }
        let event = #"{"action":"user_created","username":"alice","by":{"username":"reseller","discord_webhook":"https://discord.com/api/webhooks/1/tok"},"user":{"username":"alice","admin":{"username":"reseller","discord_webhook":"https://discord.com/api/webhooks/1/tok","telegram_id":42}}}"#
        try lpush([event])
        let strippedRequest = try await stripped.waitForRequests(count: 1, timeout: 30)[0]
        let fullRequest = try await full.waitForRequests(count: 1, timeout: 30)[0]
        XCTAssertFalse(strippedRequest.text.contains("discord_webhook"), strippedRequest.text)
        XCTAssertTrue(strippedRequest.text.contains(#""telegram_id":42"#), strippedRequest.text)
        XCTAssertEqual(fullRequest.text.components(separatedBy: "discord_webhook").count - 1, 2, fullRequest.text)

        let script = """
            import json, sys
            from standardwebhooks import Webhook
            request = json.load(sys.stdin)
            Webhook(request["secret"]).verify(request["body"], request["headers"])
            print("verified")
            """
        let headers = ["webhook-id", "webhook-timestamp", "webhook-signature"].reduce(into: [String: String]()) {
            $0[$1] = strippedRequest.header($1)
        }
        let input = try JSONSerialization.data(withJSONObject: ["secret": secret, "body": strippedRequest.text, "headers": headers])
        let verifier = try Subprocess.run("python3", ["-c", script], stdin: Array(input))
        XCTAssertEqual(verifier.stdout.trimmingCharacters(in: .whitespacesAndNewlines), "verified", verifier.stderr)
        try await waitFor("the notice about admins' Discord URLs", { worker.log }, until: {
            $0.components(separatedBy: "admins' Discord webhook URLs").count == 2
        })
        XCTAssertFalse(worker.log.contains("webhooks/1/tok"), "the URL itself is never logged")
    }
}
