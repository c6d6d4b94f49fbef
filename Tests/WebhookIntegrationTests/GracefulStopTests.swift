import Foundation
import TestSupport
import XCTest

/// SIGTERM while requests hang: the worker waits out WEBHOOK_SHUTDOWN_GRACE, hands everything
/// back with its `tries` unchanged, counts it as handed back, and exits 0.
final class GracefulStopTests: WorkerTestCase {
    func testSIGTERMWithHangingRequestsHandsEverythingBackWhenTheGraceExpires() async throws {
        let events = 30, onTheWire = 4, grace = 3.0
        // Each event's first attempt fails (tries becomes 1); every later attempt hangs.
        let endpoint = try await receiver(.respond { _, index in index < events ? .status(500) : .hang })
        let (worker, base) = try await startWorkerWithMetrics([
            "WEBHOOK_ADDRESS": endpoint.url, "WEBHOOK_TIMEOUT": "60", "WEBHOOK_LEASE": "300",
            "WEBHOOK_CONCURRENCY": "\(onTheWire)", "WEBHOOK_ENDPOINT_CONCURRENCY": "\(onTheWire)",
            "RECURRENT_NOTIFICATIONS_TIMEOUT": "1", "WEBHOOK_SHUTDOWN_GRACE": "\(Int(grace))",
        ])
        let metricsURL = "\(base)/metrics"
        try push(events)
        // Every first attempt failed, the retries fill the wire and hang, and the worker holds
        // all the others (nothing left in the queue or the delayed set).
        _ = try await endpoint.waitForRequests(count: events + onTheWire, timeout: 60)
        try await waitFor("every retry taken by the worker", timeout: 30, {
            [try llen("queue"), try zcard("delayed"), try processingTotal()]
        }, until: { $0 == [0, 0, events] })

        let stopped = Date()
        worker.terminate()
        // Retries that never reached the wire are handed back at once and counted.
        try await eventually("handed_back counted while the grace runs", timeout: grace + 5, interval: 0.05, {
            do {
                return PrometheusText(try await HTTPCall.get(metricsURL).text)
                    .value("webhook_deliveries_total", ["outcome": "handed_back"]).map { "\($0)" } ?? "absent"
            } catch {
                return "scrape failed: \(error)"
            }
        }, until: { (Double($0) ?? 0) >= Double(events - onTheWire) })

        let status = await worker.exit(timeout: grace + 15)
        let elapsed = Date().timeIntervalSince(stopped)
        XCTAssertEqual(status, 0, worker.log)
        XCTAssertGreaterThanOrEqual(elapsed, grace - 0.1, "waited the grace period for the requests on the wire")
        XCTAssertLessThan(elapsed, grace + 15, "stopped soon after the grace expired")
        XCTAssertEqual(endpoint.count, events + onTheWire, "nothing new was sent after SIGTERM")

        // Everything is back in Redis, nothing held or dead.
        XCTAssertEqual(try processingTotal(), 0)
        XCTAssertEqual(try llen("dead"), 0)
        XCTAssertEqual(try llen("queue") + zcard("delayed"), events, "every delivery handed back")
        XCTAssertEqual(try zcard("workers"), 0, "deregistered")

        // A fresh worker delivers each once, still as its second attempt: tries 1.
        endpoint.setBehaviour(.status(200))
        let next = try startWorker(["WEBHOOK_ADDRESS": endpoint.url])
        let all = try await endpoint.waitForRequests(count: events * 2 + onTheWire, timeout: 60)
        let redelivered = Array(all[(events + onTheWire)...])
        XCTAssertEqual(Set(try usernames(redelivered)).count, events)
        XCTAssertEqual(Set(try redelivered.map { try json($0)["tries"] as? Int }), [1], "tries unchanged by the hand-back")
        await stop(next)
    }
}
