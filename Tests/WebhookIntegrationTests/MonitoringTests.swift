import Foundation
import TestSupport
import WebhookCore
import WebhookRedis
import XCTest

/// `deploy/monitoring`: the alert rules pass `promtool check rules`, and every metric the rules
/// and the Grafana dashboard name is served by a live worker or the bridge (names drift
/// otherwise, and a query on a missing metric is silently empty).
final class MonitoringTests: WorkerTestCase {
    static let monitoring = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("deploy/monitoring")

    func testPromtoolAcceptsTheAlertRules() throws {
        let result = try Subprocess.run("promtool", ["check", "rules", Self.monitoring.appendingPathComponent("alerts.yaml").path])
        XCTAssertEqual(result.status, 0, result.stdout + result.stderr)
        XCTAssertTrue(result.stdout.contains("SUCCESS"), result.stdout)
        // And they fire (or stay silent) as intended on synthetic series.
        let tests = try Subprocess.run("promtool", ["test", "rules", Self.monitoring.appendingPathComponent("alerts.test.yaml").path])
        XCTAssertEqual(tests.status, 0, tests.stdout + tests.stderr)
    }

    /// The PromQL of the rules and of every dashboard panel.
    private func expressions() throws -> [String] {
        var out: [String] = []
        let dashboard = try JSONSerialization.jsonObject(with: Data(contentsOf: Self.monitoring.appendingPathComponent("grafana-dashboard.json")))
        let panels = try XCTUnwrap((dashboard as? [String: Any])?["panels"] as? [[String: Any]])
        XCTAssertGreaterThanOrEqual(panels.count, 10)
        for panel in panels {
            let targets = panel["targets"] as? [[String: Any]] ?? []
            XCTAssertFalse(targets.isEmpty, "panel \(panel["title"] ?? "?") has a query")
            out += targets.compactMap { $0["expr"] as? String }
        }
        let rules = try String(contentsOf: Self.monitoring.appendingPathComponent("alerts.yaml"), encoding: .utf8)
        out.append(rules)  // names are matched as words, comments included: a comment naming a metric must be right too
        return out
    }

    /// Every `webhook_*` name in `texts`, histogram series (`_bucket`, `_sum`, `_count`) kept as written.
    private func metricNames(_ texts: [String]) throws -> Set<String> {
        let pattern = try NSRegularExpression(pattern: "\\bwebhook_[a-z0-9_]+")
        var names: Set<String> = []
        for text in texts {
            for match in pattern.matches(in: text, range: NSRange(text.startIndex..., in: text)) {
                names.insert(String(text[Range(match.range, in: text)!]))
            }
        }
        return names
    }

    func testEveryMetricTheDashboardAndRulesNameIsServed() async throws {
        let wanted = try metricNames(try expressions())
        XCTAssertTrue(wanted.isSuperset(of: ["webhook_queue_depth", "webhook_workers_alive", "webhook_breaker_state",
                                             "webhook_queue_oldest_age_seconds", "webhook_ready", "webhook_ingest_rejected_total",
                                             "webhook_attempt_duration_seconds_bucket", "webhook_redis_used_memory_bytes"]),
                      wanted.sorted().joined(separator: " "))

        let ok = try await receiver()
        let (worker, workerBase) = try await startWorkerWithMetrics(["WEBHOOK_ADDRESS": ok.url])
        let (bridge, bridgeBase) = try await startBridge(["INGEST_SECRET": "panel-secret"])
        let event = Array(#"[{"username":"u","action":"user_created"}]"#.utf8)
        let accepted = try await HTTPCall.request("POST", "\(bridgeBase)/events", body: event, headers: ["x-webhook-secret": "panel-secret"])
        XCTAssertEqual(accepted.status, 202, accepted.text)
        let refused = try await HTTPCall.request("POST", "\(bridgeBase)/events", body: event, headers: ["x-webhook-secret": "wrong"])
        XCTAssertEqual(refused.status, 401, refused.text)
        try lpush(["not json"])
        try push(3)
        _ = try await ok.waitForRequests(count: 4, timeout: 30)

        var served: Set<String> = []
        let missing = try await waitFor("every metric of deploy/monitoring on the worker's or the bridge's /metrics", timeout: 30, {
            for base in [workerBase, bridgeBase] {
                let metrics = PrometheusText((try? await HTTPCall.get("\(base)/metrics").text) ?? "")
                served.formUnion(metrics.names)
            }
            return wanted.subtracting(served).sorted()
        }, until: { $0.isEmpty })
        XCTAssertEqual(missing, [])

        // The new gauges carry sensible values: one live worker, a ready Redis, a closed breaker.
        let metrics = PrometheusText(try await HTTPCall.get("\(workerBase)/metrics").text)
        XCTAssertEqual(metrics.value("webhook_workers_alive"), 1, metrics.text)
        XCTAssertEqual(metrics.value("webhook_ready"), 1, metrics.text)
        XCTAssertEqual(metrics.samples("webhook_breaker_state").map(\.value), [0], metrics.text)
        XCTAssertGreaterThan(metrics.value("webhook_redis_used_memory_bytes") ?? 0, 0, metrics.text)
        await stop(worker)
        await stop(bridge)
    }

    /// `webhook_queue_oldest_age_seconds` comes from the tail item's `enqueued_at`, whatever the
    /// item's form, on Redis's clock.
    func testTheOldestItemsAgeAndRedisMemoryAreRead() throws {
        let queue = RedisQueue(url: redis.url, prefix: prefix, workerID: "gauges")
        XCTAssertNil(try queue.fleetReadings().oldestAge, "an empty queue has no age")
        let now = Date().timeIntervalSince1970
        // The tail (taken next) is the first pushed: a crash-marked, tagged event from 100 s ago.
        try lpush([#"!1 #0123abcd {"action":"user_created","username":"a","enqueued_at":\#(now - 100)}"#,
                   #"{"action":"user_created","username":"b","enqueued_at":\#(now)}"#])
        let readings = try queue.fleetReadings()
        let age = try XCTUnwrap(readings.oldestAge)
        XCTAssertEqual(age, 100, accuracy: 5)
        XCTAssertGreaterThan(readings.usedMemory ?? 0, 0)
        XCTAssertNotNil(readings.maxMemory)
        XCTAssertEqual(QueueItem.enqueuedAt(Array(#"@abc msg_1_w1 2 w1 0.0 {"action":"a","username":"u","enqueued_at":5.5}"#.utf8)), 5.5)
        XCTAssertNil(QueueItem.enqueuedAt(Array(#"{"action":"a","username":"u"}"#.utf8)))
        XCTAssertNil(QueueItem.enqueuedAt(Array("not json".utf8)))
    }
}
