import Foundation
import TestSupport
import XCTest

/// OpenTelemetry traces end to end: a real worker exports one span per delivery attempt to a
/// stand-in collector (Tests/Fixtures/otlp_collector.py, which decodes every request with the
/// `opentelemetry-proto` package), joined to the producer's `traceparent` and handed on to the
/// receiver in the request's `traceparent` header.
final class TracingTests: WorkerTestCase {
    /// The W3C Trace Context specification's own example.
    private let producerTrace = "0af7651916cd43dd8448eb211c80319c"
    private let producerSpan = "b7ad6b7169203331"

    private func collector(_ mode: String = "ok") throws -> (FixtureProcess, URL) {
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("spans-\(UUID().uuidString).jsonl")
        FileManager.default.createFile(atPath: output.path, contents: nil)
        return (try FixtureProcess("otlp_collector.py", arguments: [output.path, mode]), output)
    }

    private func spans(_ file: URL) throws -> [[String: Any]] {
        let text = try String(contentsOf: file, encoding: .utf8)
        return try text.split(separator: "\n").map {
            try XCTUnwrap(JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
        }
    }

    func testAttemptSpansJoinTheProducersTraceAndTheReceiversHeader() async throws {
        let (collector, output) = try collector()
        defer { collector.stop() }
        let ok = try await receiver(.status(200))
        let failing = try await receiver(.status(503))
        let worker = try startWorker([
            "WEBHOOK_ADDRESS": "\(ok.url),\(failing.url)",
            "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:\(collector.port)",
            "OTEL_EXPORTER_OTLP_HEADERS": "x-collector-key=k%3D1",
            "OTEL_SERVICE_NAME": "billing-workers",
            "OTEL_BSP_SCHEDULE_DELAY": "100",
        ])
        try lpush([
            #"{"action":"user_created","username":"alice","traceparent":"00-\#(producerTrace)-\#(producerSpan)-01"}"#,
            #"{"action":"user_created","username":"bob"}"#,
        ])
        _ = try await ok.waitForRequests(count: 2, timeout: 30)
        _ = try await failing.waitForRequests(count: 2, timeout: 30)
        let all = try await waitFor("four spans at the collector (log: \(collector.log))", { try self.spans(output) },
                                    until: { $0.count >= 4 })
        XCTAssertEqual(all.count, 4, "one span per attempt")

        for request in ok.requests + failing.requests {
            let user = try XCTUnwrap(json(request)["username"] as? String)
            let webhookID = try XCTUnwrap(request.header("webhook-id"))
            let span = try XCTUnwrap(all.first { ($0["attributes"] as? [String: Any])?["webhook.id"] as? String == webhookID },
                                     "no span for \(webhookID)")
            let attributes = try XCTUnwrap(span["attributes"] as? [String: Any])
            // The receiver's traceparent names this attempt's span, in the span's trace.
            let header = try XCTUnwrap(request.header("traceparent"), "no traceparent sent to the receiver")
            let traceID = try XCTUnwrap(span["traceId"] as? String)
            let spanID = try XCTUnwrap(span["spanId"] as? String)
            XCTAssertEqual(header, "00-\(traceID)-\(spanID)-01")
            if user == "alice" {
                XCTAssertEqual(traceID, producerTrace, "the attempt joins the producer's trace")
                XCTAssertEqual(span["parentSpanId"] as? String, producerSpan, "the producer's span is the parent")
            } else {
                XCTAssertNotEqual(traceID, producerTrace)
                XCTAssertEqual(span["parentSpanId"] as? String, "", "an event without traceparent starts a trace")
            }
            XCTAssertEqual(span["kind"] as? Int, 3, "SPAN_KIND_CLIENT")
            XCTAssertEqual(attributes["webhook.action"] as? String, "user_created")
            XCTAssertEqual(attributes["webhook.try"] as? Int, 0, "an intValue")
            let status = failing.requests.contains { $0.header("webhook-id") == webhookID } ? 503 : 200
            XCTAssertEqual(attributes["http.response.status_code"] as? Int, status)
            if status == 200 {
                XCTAssertEqual(attributes["webhook.outcome"] as? String, "delivered")
                XCTAssertEqual(span["status"] as? Int, 0)
                XCTAssertNil(attributes["error.type"])
            } else {
                XCTAssertEqual(attributes["webhook.outcome"] as? String, "retry")
                XCTAssertEqual(attributes["error.type"] as? String, "status")
                XCTAssertEqual(span["status"] as? Int, 2, "STATUS_CODE_ERROR")
            }
            XCTAssertLessThanOrEqual(span["start"] as? Int ?? 0, span["end"] as? Int ?? -1)
            XCTAssertEqual((span["resource"] as? [String: Any])?["service.name"] as? String, "billing-workers")
            XCTAssertEqual((span["headers"] as? [String: Any])?["x-collector-key"] as? String, "k=1")
        }
        XCTAssertFalse(worker.log.contains("k%3D1") || worker.log.contains("k=1"), "collector headers are never logged")
        await stop(worker)
    }

    /// The bridge's `traceparent` request header (a panel behind an instrumented proxy) makes the
    /// worker's attempt a child of that span, as an event field does.
    func testTheBridgesTraceparentHeaderJoinsTheAttemptToTheTrace() async throws {
        let (collector, output) = try collector()
        defer { collector.stop() }
        let sink = try await receiver(.status(200))
        let (_, base) = try await startBridge(["INGEST_SECRET": "panel-secret"])
        let worker = try startWorker([
            "WEBHOOK_ADDRESS": sink.url,
            "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:\(collector.port)",
            "OTEL_BSP_SCHEDULE_DELAY": "100",
        ])
        let panelBatch = #"[{"action":"user_created","username":"alice"},{"action":"user_created","username":"bob","traceparent":"00-11111111111111111111111111111111-2222222222222222-01"}]"#
        let answer = try await HTTPCall.request("POST", "\(base)/events", body: Array(panelBatch.utf8), headers: [
            "x-webhook-secret": "panel-secret", "Content-Type": "application/json",
            "traceparent": "00-\(producerTrace)-\(producerSpan)-01",
        ])
        XCTAssertEqual(answer.status, 202, answer.text)
        _ = try await sink.waitForRequests(count: 2, timeout: 30)
        let spans = try await waitFor("two spans", { try self.spans(output) }, until: { $0.count >= 2 })
        for request in sink.requests {
            let user = try XCTUnwrap(json(request)["username"] as? String)
            let span = try XCTUnwrap(spans.first { ($0["attributes"] as? [String: Any])?["webhook.id"] as? String == request.header("webhook-id") })
            if user == "alice" {
                XCTAssertEqual(span["traceId"] as? String, producerTrace, "the header's trace")
                XCTAssertEqual(span["parentSpanId"] as? String, producerSpan)
                XCTAssertEqual(try json(request)["traceparent"] as? String, "00-\(producerTrace)-\(producerSpan)-01",
                               "the event carries the trace it joined")
            } else {
                XCTAssertEqual(span["traceId"] as? String, "11111111111111111111111111111111", "an event's own field wins")
                XCTAssertEqual(span["parentSpanId"] as? String, "2222222222222222")
            }
        }
        await stop(worker)
    }

    /// A collector that accepts and never answers, then none at all: every event is delivered as
    /// without tracing, spans are dropped and counted, and SIGTERM is not held by the export in
    /// flight (its timeout here is 30 s, longer than the stop's bound).
    func testACollectorThatHangsOrIsDownChangesNothingAboutDelivery() async throws {
        let (hung, _) = try collector("hang")
        defer { hung.stop() }
        let downPort = try freeTCPPort()
        for collectorPort in [hung.port, downPort] {
            let sink = try await receiver(.status(200))
            let (worker, base) = try await startWorkerWithMetrics([
                "WEBHOOK_ADDRESS": sink.url,
                "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:\(collectorPort)",
                "OTEL_EXPORTER_OTLP_TIMEOUT": "30000",
                "OTEL_BSP_SCHEDULE_DELAY": "50",
                "OTEL_BSP_MAX_QUEUE_SIZE": "64",
                "OTEL_BSP_MAX_EXPORT_BATCH_SIZE": "16",
            ])
            try push(400)
            _ = try await sink.waitForRequests(count: 400, timeout: 30)
            try await waitFor("spans dropped and counted", {
                PrometheusText(try await HTTPCall.get("\(base)/metrics").text).value("webhook_trace_spans_dropped_total") ?? 0
            }, until: { $0 > 0 })
            XCTAssertEqual(sink.requests.count, 400, "each event delivered once")
            let stopped = Date()
            await stop(worker)
            XCTAssertLessThan(Date().timeIntervalSince(stopped), 15, "an export in flight must not hold the stop")
        }
    }
}
