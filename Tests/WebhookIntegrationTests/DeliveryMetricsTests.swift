import Foundation
import TestSupport
import XCTest

/// The values of `webhook_deliveries_total`, not just its names: per outcome and endpoint they
/// equal what the receivers saw.
final class DeliveryMetricsTests: WorkerTestCase {
    func testDeliveriesTotalByOutcomeAndEndpointEqualsWhatTheReceiversSaw() async throws {
        // Two answering endpoints: each delivery is counted for its own (the counter of a
        // configured endpoint's 2xx deliveries is looked up by the target).
        let ok = try await receiver(), also = try await receiver(.status(202)), failing = try await receiver(.status(500))
        let file = try endpointsFile("""
            endpoints:
              - name: ok
                url: \(ok.url)
              - name: also
                url: \(also.url)
              - name: failing
                url: \(failing.url)
            """)
        let (worker, base) = try await startWorkerWithMetrics([
            "WEBHOOK_ENDPOINTS_FILE": file, "NUMBER_OF_RECURRENT_NOTIFICATIONS": "1", "RECURRENT_NOTIFICATIONS_TIMEOUT": "1",
        ])
        let events = 7
        try push(events)
        // ok: one attempt each, answered 200. failing: a first attempt (500, retry) and the one
        // retry (500, dead) each.
        _ = try await ok.waitForRequests(count: events, timeout: 30)
        _ = try await also.waitForRequests(count: events, timeout: 30)
        _ = try await failing.waitForRequests(count: 2 * events, timeout: 30)
        try await waitFor("every failed event dead", { try self.llen("dead") }, until: { $0 == events })
        let metrics = try await eventually("the last outcomes counted", {
            PrometheusText(try await HTTPCall.get("\(base)/metrics").text)
        }, until: { $0.value("webhook_deliveries_total", ["outcome": "dead"]) == Double(events) })
        func value(_ outcome: String, _ endpoint: String) -> Double {
            metrics.value("webhook_deliveries_total", ["outcome": outcome, "endpoint": endpoint]) ?? 0
        }
        XCTAssertEqual(value("delivered", "ok"), Double(ok.count), metrics.text)
        XCTAssertEqual(metrics.value("webhook_deliveries_total", ["outcome": "delivered", "endpoint": "ok", "status_class": "2xx"]),
                       Double(ok.count), metrics.text)
        XCTAssertEqual(metrics.value("webhook_deliveries_total", ["outcome": "delivered", "endpoint": "also", "status_class": "2xx"]),
                       Double(also.count), metrics.text)
        XCTAssertEqual(value("retry", "failing"), Double(events), metrics.text)
        XCTAssertEqual(value("dead", "failing"), Double(events), metrics.text)
        XCTAssertEqual(value("retry", "failing") + value("dead", "failing"), Double(failing.count), "one count per attempt seen")
        XCTAssertEqual(metrics.value("webhook_deliveries_total", ["endpoint": "failing", "status_class": "5xx"]),
                       Double(failing.count), metrics.text)
        for outcome in ["retry", "dead"] { XCTAssertEqual(value(outcome, "ok"), 0, "\(outcome) on ok:\n\(metrics.text)") }
        XCTAssertEqual(value("delivered", "failing"), 0, metrics.text)
        XCTAssertEqual(metrics.value("webhook_deliveries_total"), Double(ok.count + also.count + failing.count),
                       "no other outcome:\n\(metrics.text)")
        await stop(worker)
    }
}
