import Foundation
import TestSupport
import XCTest

/// A worker pointed at its own bridge (issue 17, fault 2). The README's set-up puts the panel's
/// names in one `.env`; a worker that reads it delivers to the bridge with WEBHOOK_SECRET equal
/// to INGEST_SECRET, and before the bridge refused such requests every event was enqueued again
/// on each delivery, without end.
final class BridgeLoopTests: WorkerTestCase {
    static let secret = "shared-secret"

    func testWorkerDeliveringToItsBridgeIsRefusedWith508AndNothingAmplifies() async throws {
        let (bridgeProcess, bridge) = try await startBridge(["INGEST_SECRET": Self.secret])
        let receiver = try await receiver()
        // The worker reads the same names: its endpoints are a real receiver and the bridge.
        let worker = try startWorker([
            "WEBHOOK_ADDRESS": "\(receiver.url),\(bridge)/events", "WEBHOOK_SECRET": Self.secret,
            "RECURRENT_NOTIFICATIONS_TIMEOUT": "1", "NUMBER_OF_RECURRENT_NOTIFICATIONS": "1",
        ])
        let event = #"[{"username": "alice", "action": "user_created", "tries": 0}]"#
        let answer = try await HTTPCall.request("POST", "\(bridge)/events", body: Array(event.utf8),
                                                headers: ["Content-Type": "application/json", "x-webhook-secret": Self.secret])
        XCTAssertEqual(answer.status, 202, answer.text)

        // The bridge endpoint's two attempts end as a dead letter saying 508; nothing is pending.
        try await waitFor("the bridge endpoint's delivery dead, nothing pending", timeout: 30, {
            [try llen("dead"), try llen("queue"), try zcard("delayed"), try processingTotal()]
        }, until: { $0 == [1, 0, 0, 0] })
        // Give an amplifying loop time to show itself: the receiver still has the event once.
        try await Task.sleep(nanoseconds: 1_500_000_000)
        XCTAssertEqual(receiver.requests.count, 1, "each event delivered once")
        XCTAssertEqual(try llen("queue") + zcard("delayed") + processingTotal(), 0)
        let dead = try redis.cli.lines(["LRANGE", "\(prefix):dead", "0", "-1"])
        XCTAssertTrue(dead.first?.contains(#""last_status":508"#) == true, "\(dead)")

        let metrics = PrometheusText(try await HTTPCall.get("\(bridge)/metrics").text)
        XCTAssertEqual(metrics.value("webhook_events_ingested_total"), 1, metrics.text)
        XCTAssertEqual(metrics.value("webhook_ingest_rejected_total", ["reason": "loop"]), 2, metrics.text)
        // The bridge says what is wrong and what to change.
        let log = bridgeProcess.log
        XCTAssertTrue(log.contains("error") && log.contains("508 Loop Detected") && log.contains("WEBHOOK_ADDRESS"), log)
        await stop(worker)
    }
}
