import Foundation
import TestSupport
import XCTest

/// A worker's /metrics move with its deliveries, and its /healthz follows Redis.
final class WorkerMetricsAndHealthTests: WorkerTestCase {
    func testWorkerMetricsMoveAndHealthzFollowsRedis() async throws {
        let a = try await receiver()
        let (worker, base) = try await startWorkerWithMetrics(["WEBHOOK_ADDRESS": a.url])
        try push(5)
        _ = try await a.waitForRequests(count: 5, timeout: 30)
        let metrics = try await eventually("5 deliveries counted", {
            PrometheusText(try await HTTPCall.get("\(base)/metrics").text)
        }, until: { $0.value("webhook_deliveries_total", ["outcome": "delivered", "status_class": "2xx"]) == 5 })
        XCTAssertEqual(metrics.value("webhook_attempt_duration_seconds_count"), 5, metrics.text)
        XCTAssertNotNil(metrics.value("webhook_queue_depth"), metrics.text)

        redis.kill()
        try await HTTPCall.waitForStatus(503, at: "\(base)/healthz")
        worker.terminate()
        let status = await worker.exit(timeout: 30)
        XCTAssertNotNil(status, "the worker exits on SIGTERM while Redis is down")
    }
}
