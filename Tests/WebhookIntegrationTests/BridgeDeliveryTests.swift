import Foundation
import TestSupport
import XCTest

/// The Marzban bridge end to end: what Marzban posts reaches every endpoint signed, and what
/// the bridge rejects is never enqueued.
final class BridgeDeliveryTests: WorkerTestCase {
    func testBridgeEnqueuesMarzbanArraysThatReachEveryEndpointSigned() async throws {
        let a = try await receiver(), b = try await receiver()
        let (bridge, base) = try await startBridge(["INGEST_SECRET": "panel-secret", "WEBHOOK_MAX_PAYLOAD_BYTES": "4096",
                                                      "INGEST_MAX_BODY_BYTES": "4096"])
        let worker = try startWorker(["WEBHOOK_ADDRESS": "\(a.url),\(b.url)", "WEBHOOK_SECRET": "downstream"])

        // What Marzban 0.8.4 posts: an array, the raw secret in x-webhook-secret.
        let marzban = #"[{"enqueued_at": 1680506457.636369, "send_at": 1680506457.636369, "tries": 0, "username": "u1", "action": "user_created", "by": {"username": "admin", "is_sudo": true}}, {"enqueued_at": 1680506458.1, "send_at": 1680506458.1, "tries": 0, "username": "u2", "action": "user_limited"}]"#
        let accepted = try await post(base, marzban, secret: "panel-secret")
        XCTAssertEqual(accepted.status, 202, accepted.text)
        for endpoint in [a, b] {
            let requests = try await endpoint.waitForRequests(count: 2, timeout: 30)
            XCTAssertEqual(Set(try usernames(requests)), ["u1", "u2"])
            for request in requests {
                XCTAssertEqual(request.header("x-webhook-secret"), hexHMAC(request.body, secret: "downstream"))
            }
        }

        // Rejections enqueue nothing.
        let before = try llen("queue")
        let oversize = String(repeating: " ", count: 10_000) + "[]"
        let rejected: [(body: String, secret: String?, status: Int)] = [
            (marzban, "nope", 401), (marzban, nil, 401), ("{nope", "panel-secret", 400),
            (#"[{"username":"x","action":"user_created"},{"username":"y"}]"#, "panel-secret", 400),
            (oversize, "panel-secret", 413),
        ]
        for case let (body, secret, status) in rejected {
            let answer = try await post(base, body, secret: secret)
            XCTAssertEqual(answer.status, status, "\(body.prefix(60)): \(answer.text)")
        }
        XCTAssertEqual(try llen("queue"), before)
        // A marker posted after the rejections arrives after anything they could have queued.
        let marker = try await post(base, #"[{"username":"marker","action":"user_created"}]"#, secret: "panel-secret")
        XCTAssertEqual(marker.status, 202, marker.text)
        let all = try await a.waitForRequests(count: 3, timeout: 30)
        let names = try usernames(all)
        XCTAssertEqual(names[2], "marker", "nothing rejected was delivered: \(names)")

        let metrics = PrometheusText(try await HTTPCall.get("\(base)/metrics").text)
        XCTAssertEqual(metrics.value("webhook_events_ingested_total"), 3, metrics.text)
        XCTAssertEqual(metrics.value("webhook_ingest_rejected_total"), 5, metrics.text)
        await stop(worker)
        bridge.terminate()
        let bridgeStatus = await bridge.exit(timeout: 20)
        XCTAssertEqual(bridgeStatus, 0, bridge.log)
    }

    private func post(_ base: String, _ body: String, secret: String?) async throws -> HTTPCall.Answer {
        var headers = ["Content-Type": "application/json"]
        if let secret { headers["x-webhook-secret"] = secret }
        return try await HTTPCall.request("POST", "\(base)/events", body: Array(body.utf8), headers: headers)
    }
}
