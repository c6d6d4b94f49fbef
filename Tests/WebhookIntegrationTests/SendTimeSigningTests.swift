import Crypto
import Foundation
import Synchronization
import TestSupport
import WebhookCore
import WebhookHTTP
@testable import WebhookWorker
import XCTest

/// `webhook-timestamp` and the signature covering it describe the moment a request goes on the
/// wire, not the moment it was queued: a request that waits behind its endpoint's concurrency
/// cap must not arrive with a timestamp a receiver's replay window would reject.
final class SendTimeSigningTests: XCTestCase {
    private let secret = "send-time-secret"

    func testARequestHeldBackByItsLaneCarriesTheTimeItWasSent() async throws {
        // The first request holds the lane's only slot for 2.5 s; the second waits behind it.
        let receiver = try await HTTPReceiver.start(behaviour: .respond { _, index in
            ReceiverResponse(status: 200, delay: index == 0 ? 2.5 : 0)
        })
        defer { Task { await receiver.stop() } }
        let done = Mutex<[HTTPResponse]>([])
        let client = try HTTPClient(maxConcurrent: 4, maxPerLane: 1) { batch in
            done.withLock { $0.append(contentsOf: batch) }
        }
        defer { client.shutdown() }

        let queuedAt = Date().timeIntervalSince1970
        var builder = RequestBuilder(secret: secret, timeout: 30)
        let target = Target(kind: .webhook, url: receiver.url)
        let units = try (0..<2).map { index in
            let raw = Array(#"{"username":"u\#(index)","action":"user_created","enqueued_at":1}"#.utf8)
            let event = try Event.parse(raw, maxBytes: 1 << 20, now: queuedAt)
            return DeliveryLedger.Attempt(eventID: UInt64(index), target: target, tries: 0,
                                          webhookID: "msg_send_time_\(index)", event: event)
        }
        let requests = builder.requests(for: units).requests
        XCTAssertEqual(requests.count, 2)
        client.submit(requests)

        let seen = try await receiver.waitForRequests(count: 2, timeout: 20)
        let late = try XCTUnwrap(seen.first { $0.header("webhook-id") == "msg_send_time_1" }
                                 .flatMap { $0.index == 1 ? $0 : nil }, "the second request arrives second")
        let timestamp = try XCTUnwrap(late.header("webhook-timestamp").flatMap(Double.init))
        XCTAssertGreaterThanOrEqual(late.arrival - queuedAt, 2.0, "it really waited behind the lane's cap")
        XCTAssertGreaterThanOrEqual(timestamp, (queuedAt + 2).rounded(.down),
                                    "timestamped when sent (\(timestamp)), not when queued (\(queuedAt))")
        XCTAssertLessThanOrEqual(abs(timestamp - late.arrival), 1.5)

        // The signature covers the send-time timestamp.
        for request in seen {
            let id = try XCTUnwrap(request.header("webhook-id"))
            let stamp = try XCTUnwrap(request.header("webhook-timestamp"))
            let key = SymmetricKey(data: Array(secret.utf8))
            let mac = HMAC<SHA256>.authenticationCode(for: Array("\(id).\(stamp).".utf8) + request.body, using: key)
            XCTAssertEqual(request.header("webhook-signature"), "v1," + Data(mac).base64EncodedString())
            let hex = HMAC<SHA256>.authenticationCode(for: request.body, using: key)
                .map { String(format: "%02x", $0) }.joined()
            XCTAssertEqual(request.header("x-webhook-secret"), hex)
        }
    }

    func testTheSendHookRunsWhenTheRequestLeavesItsLaneQueue() async throws {
        let receiver = try await HTTPReceiver.start(behaviour: .respond { _, index in
            ReceiverResponse(status: 200, delay: index == 0 ? 2.2 : 0)
        })
        defer { Task { await receiver.stop() } }
        let client = try HTTPClient(maxConcurrent: 4, maxPerLane: 1) { _ in }
        defer { client.shutdown() }
        let queuedAt = Date().timeIntervalSince1970
        let hook: HTTPRequest.SendHook = { _, headers in
            headers.append("x-sent-at: \(Date().timeIntervalSince1970)")
        }
        client.submit((0..<2).map {
            HTTPRequest(token: UInt64($0), url: receiver.url, headers: ["x-n: \($0)"], body: [], lane: 0,
                        timeout: 30, onSend: hook)
        })
        let seen = try await receiver.waitForRequests(count: 2, timeout: 20)
        let sentAt = try seen.map { try XCTUnwrap($0.header("x-sent-at").flatMap(Double.init)) }
        XCTAssertEqual(seen.map { $0.header("x-n") }, ["0", "1"], "headers set at queueing are kept")
        XCTAssertLessThan(sentAt[0] - queuedAt, 1.0)
        XCTAssertGreaterThanOrEqual(sentAt[1] - queuedAt, 2.0, "the hook ran when the lane let it go")
    }
}
