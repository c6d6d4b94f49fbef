import Foundation
import TestSupport
import XCTest

/// Every metric name, type and label value in the README's metrics table appears on /metrics
/// once traffic has produced it: a worker's for the worker rows, the bridge's for the bridge rows.
final class MetricsCoverageTests: WorkerTestCase {
    private var table: ReadmeMetricsTable!

    override func setUp() async throws {
        try await super.setUp()
        table = try ReadmeMetricsTable.load()
        XCTAssertGreaterThanOrEqual(table.rows.count, 7, "the README's metrics table was found")
    }

    func testWorkerServesEveryReadmeMetricAndLabelValue() async throws {
        let ok = try await receiver()
        let redirect = try await receiver(.respond { _, _ in .redirect(to: "/elsewhere") })
        let gone = try await receiver(.status(410)), failing = try await receiver(.status(500))
        let hung = try await receiver(.hang)
        let discord = try await receiver(.respond { _, index in
            index == 0 ? ReceiverResponse(status: 429, headers: [("Content-Type", "application/json")],
                                          body: Array(#"{"message":"rate limited","retry_after":0.2,"global":false}"#.utf8))
                       : ReceiverResponse(status: 204)
        })
        let endpoints = [ok.url, redirect.url, gone.url, failing.url, hung.url, "http://127.0.0.1:9/refused"]
        // An ordered endpoint, for the webhook_ordered_* gauges (served whatever its traffic:
        // it takes an action this test does not send, so the other endpoints' figures stay theirs).
        let ordered = try await receiver()
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("metrics-\(UUID().uuidString).yaml")
        try Data("endpoints:\n  - name: ordered\n    url: \(ordered.url)\n    ordering: per-key\n    actions: [user_deleted]\n".utf8)
            .write(to: file)
        let (worker, base) = try await startWorkerWithMetrics([
            "WEBHOOK_ENDPOINTS_FILE": file.path,
            "WEBHOOK_ADDRESS": endpoints.joined(separator: ","), "DISCORD_WEBHOOK_URL": discord.url,
            "NUMBER_OF_RECURRENT_NOTIFICATIONS": "1", "RECURRENT_NOTIFICATIONS_TIMEOUT": "1",
            // The hung endpoint holds 2 requests on the wire and lags: its later deliveries are
            // parked (deferred, no status). (`handed_back` has its own test, below.)
            "WEBHOOK_TIMEOUT": "60", "WEBHOOK_LEASE": "300", "WEBHOOK_MAX_INFLIGHT": "8",
            "WEBHOOK_ENDPOINT_CONCURRENCY": "2", "WEBHOOK_SHUTDOWN_GRACE": "4",
            // Per-admin Discord reports: these events name no admin, so each is counted as skipped.
            "WEBHOOK_DISCORD_PER_ADMIN": "true",
        ])
        let metricsURL = "\(base)/metrics"
        try lpush(["not json"])
        try push(12)
        // A second wave once the others have answered: the hung endpoint then lags endpoints
        // that are taking deliveries, and its new deliveries are parked (deferred, no status).
        // (Before any answer there is nobody to lag behind.)
        _ = try await ok.waitForRequests(count: 12, timeout: 30)
        try push(12)

        let rows = table.rows.filter { !$0.bridge }
        let promisedWhileRunning = promisedValues(rows, except: ["handed_back"])
        var seen = Seen()
        try await waitFor("every README label value but handed_back on the worker's /metrics", timeout: 90, {
            seen.add(PrometheusText((try? await HTTPCall.get(metricsURL).text) ?? ""))
            return seen.missing(promisedWhileRunning)
        }, until: { $0.isEmpty })

        worker.terminate()
        let status = await worker.exit(timeout: 30)
        XCTAssertEqual(status, 0, worker.log)

        for row in rows {
            for name in row.names {
                XCTAssertEqual(seen.types[name], row.type, "\(name) served as a \(row.type)")
            }
        }
    }

    /// `handed_back`, the README's last worker label value, in a worker of its own: one hung
    /// endpoint taking one request at a time, so two of three deliveries wait in its lane and
    /// SIGTERM hands them back at once, counted while the grace runs. (Beside endpoints that
    /// answer, a hung one lags, its waiting requests are withdrawn before SIGTERM, and only those
    /// on the wire are handed back, as the worker exits: a window of some tens of milliseconds
    /// that a scrape on a busy machine missed.)
    func testWorkerCountsWhatItHandsBackAtSIGTERM() async throws {
        let hung = try await receiver(.hang)
        let (worker, base) = try await startWorkerWithMetrics([
            "WEBHOOK_ADDRESS": hung.url, "WEBHOOK_TIMEOUT": "60", "WEBHOOK_LEASE": "300",
            "WEBHOOK_ENDPOINT_CONCURRENCY": "1", "WEBHOOK_SHUTDOWN_GRACE": "5",
        ])
        try push(3)
        _ = try await hung.waitForRequests(count: 1, timeout: 30)
        let promised = promisedValues(table.rows.filter { !$0.bridge }, except: []).filter { $0.contains("handed_back") }
        XCTAssertFalse(promised.isEmpty, "the README lists handed_back")
        worker.terminate()
        var seen = Seen()
        try await eventually("handed_back counted within the shutdown grace", timeout: 4, interval: 0.05, {
            seen.add(PrometheusText((try? await HTTPCall.get("\(base)/metrics").text) ?? ""))
            return seen.missing(promised)
        }, until: { $0.isEmpty })
        let status = await worker.exit(timeout: 30)
        XCTAssertEqual(status, 0, worker.log)
    }

    func testBridgeServesEveryReadmeBridgeMetric() async throws {
        let (bridge, base) = try await startBridge(["INGEST_SECRET": "panel-secret"])
        let event = Array(#"[{"username":"u","action":"user_created"}]"#.utf8)
        let accepted = try await HTTPCall.request("POST", "\(base)/events", body: event, headers: ["x-webhook-secret": "panel-secret"])
        XCTAssertEqual(accepted.status, 202, accepted.text)
        let refused = try await HTTPCall.request("POST", "\(base)/events", body: event, headers: ["x-webhook-secret": "wrong"])
        XCTAssertEqual(refused.status, 401, refused.text)

        let metrics = PrometheusText(try await HTTPCall.get("\(base)/metrics").text)
        let rows = table.rows.filter(\.bridge)
        XCTAssertFalse(rows.isEmpty, "the README lists bridge metrics")
        for row in rows {
            for name in row.names {
                XCTAssertEqual(metrics.types[name], row.type, "\(name) served as a \(row.type):\n\(metrics.text)")
                XCTAssertFalse(metrics.samples(name).isEmpty, "\(name) has a sample:\n\(metrics.text)")
                for label in row.labels.keys {
                    XCTAssertFalse(metrics.labelValues(name, label).isEmpty, "\(name) carries \(label):\n\(metrics.text)")
                }
            }
        }
        bridge.terminate()
        let status = await bridge.exit(timeout: 20)
        XCTAssertEqual(status, 0, bridge.log)
    }

    /// "name" (present) and "name{label=value}" (a sample with that value) for every row.
    private func promisedValues(_ rows: [ReadmeMetricsTable.Row], except skipped: Set<String>) -> Set<String> {
        var out: Set<String> = []
        for row in rows {
            for name in row.names {
                out.insert(name)
                for (label, values) in row.labels {
                    for value in values where !skipped.contains(value) { out.insert("\(name){\(label)=\(value)}") }
                }
            }
        }
        return out
    }

    /// What any scrape so far has shown, in the form of `promisedValues`.
    private struct Seen {
        var entries: Set<String> = []
        var types: [String: String] = [:]

        mutating func add(_ metrics: PrometheusText) {
            types.merge(metrics.types) { $1 }
            for (name, _) in metrics.types { entries.insert(name) }
            for sample in metrics.samples {
                for (label, value) in sample.labels { entries.insert("\(sample.name){\(label)=\(value)}") }
            }
        }

        func missing(_ promised: Set<String>) -> [String] {
            promised.subtracting(entries).sorted()
        }
    }
}
