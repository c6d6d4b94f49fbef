import Crypto
import Foundation
import TestSupport
import WebhookCore
import XCTest

/// A panel's burst through the bridge (issue 17, fault 1): Marzban sends everything due in one
/// JSON array, which after an outage is the whole backlog. The bridge bounds the POST by
/// INGEST_MAX_BODY_BYTES and each event by WEBHOOK_MAX_PAYLOAD_BYTES on its own: one oversize
/// event becomes a dead letter, written with the rest in the same step, and costs nothing else.
final class BridgeBurstTests: WorkerTestCase {
    static let secret = "burst-secret"

    func testFiveMegabyteBatchWithOneOversizeEventIsDeliveredButThatOne() async throws {
        let (_, bridge) = try await startBridge(["INGEST_SECRET": Self.secret])
        let receiver = try await receiver()

        // 3,999 Marzban-shaped events of about 750 bytes and one of 2 MB, in one array.
        let now = Date().timeIntervalSince1970
        let padding = String(repeating: "p", count: 600)
        var events: [[UInt8]] = (0..<3999).map { i in
            Array(#"{"enqueued_at": \#(now), "send_at": \#(now), "tries": 0, "username": "user-\#(i)", "action": "user_created", "by": {"username": "admin", "is_sudo": true}, "user": {"note": "\#(padding)"}}"#.utf8)
        }
        let big = Array(#"{"username": "big", "action": "user_created", "user": {"note": ""#.utf8)
            + [UInt8](repeating: UInt8(ascii: "b"), count: 2_000_000) + Array(#""}}"#.utf8)
        events.insert(big, at: 2000)
        let body = Array("[".utf8) + Array(events.joined(separator: Array(", ".utf8))) + Array("]".utf8)
        XCTAssertGreaterThan(body.count, 4_900_000)

        let answer = try await HTTPCall.request("POST", "\(bridge)/events", body: body,
                                                headers: ["Content-Type": "application/json", "x-webhook-secret": Self.secret])
        XCTAssertEqual(answer.status, 202, answer.text)
        XCTAssertEqual(answer.text, #"{"enqueued":3999}"#)

        // The oversize event is a dead letter already, beside its 3,999 queued siblings.
        XCTAssertEqual(try llen("queue"), 3999)
        let dead = try redis.cli.lines(["LRANGE", "\(prefix):dead", "0", "-1"])
        XCTAssertEqual(dead.count, 1)
        let letter = try DeadLetter(decoding: Array(try XCTUnwrap(dead.first).utf8))
        XCTAssertEqual(letter.truncated?.length, big.count)
        XCTAssertEqual(letter.truncated?.sha256, SHA256.hash(data: big).map { String(format: "%02x", $0) }.joined())
        XCTAssertEqual(letter.payload, Array(big.prefix(DeadLetter.truncatedPrefix)))
        XCTAssertTrue(letter.reason.contains("WEBHOOK_MAX_PAYLOAD_BYTES"), letter.reason)

        // A real worker delivers the rest, each once. Marzban's wire batches the events into
        // arrays, so 3,999 deliveries take a few requests.
        let worker = try startWorker(["WEBHOOK_ADDRESS": receiver.url, "WEBHOOK_SECRET": "receiver-secret",
                                      "WEBHOOK_COMPAT": "marzban"])
        let names = try await waitFor("3,999 events delivered", timeout: 60, {
            try receiver.requests.flatMap { request -> [String] in
                let array = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(request.body)) as? [[String: Any]])
                return array.compactMap { $0["username"] as? String }
            }
        }, until: { $0.count >= 3999 })
        XCTAssertEqual(names.count, 3999)
        XCTAssertEqual(Set(names), Set((0..<3999).map { "user-\($0)" }))
        try await waitFor("nothing pending", { [try llen("queue"), try processingTotal()] }, until: { $0 == [0, 0] })
        XCTAssertEqual(try llen("dead"), 1)
        await stop(worker)
    }
}
