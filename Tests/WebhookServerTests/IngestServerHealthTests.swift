import Foundation
import Logging
import ServiceLifecycle
import TestSupport
import WebhookCore
import WebhookServer
import XCTest

/// The bridge's behaviour around Redis outages, its metrics and health, and the metrics server.
final class IngestServerHealthTests: IngestServerTestCase {
    private let secret = IngestServerTests.secret
    private let first = IngestServerTests.first

    private func start() async throws -> IngestUnderTest {
        let started = try await IngestUnderTest.start(redis: redis, secret: secret)
        server = started
        return started
    }

    func testRedisDownIs503AndRecovers() async throws {
        let server = try await start()
        let body = "[\(first)]"
        var (status, answer) = try await server.post(body: body, secret: secret)
        XCTAssertEqual(status, 202, answer)
        // The pooled connection dies with the restart; the next POST must still succeed.
        try redis.restart()
        (status, answer) = try await server.post(body: body, secret: secret)
        XCTAssertEqual(status, 202, answer)
        XCTAssertEqual(try server.queue(redis), [first])

        redis.kill()
        for _ in 0..<2 {
            (status, answer) = try await server.post(body: body, secret: secret)
            XCTAssertEqual(status, 503, answer)
            XCTAssertEqual(answer, #"{"error":"redis unavailable"}"#)
        }

        try redis.restart()
        (status, answer) = try await server.post(body: body, secret: secret)
        XCTAssertEqual(status, 202, answer)
        XCTAssertEqual(try server.queue(redis), [first])
    }

    func testMetricsCountIngestedEventsAndShowDepths() async throws {
        let server = try await start()
        // The registry is process-wide: earlier tests may have counted already.
        let before = try await metrics(server).value("webhook_events_ingested_total") ?? 0
        let (status, _) = try await server.post(body: "[\(first), \(first), \(first)]", secret: secret)
        XCTAssertEqual(status, 202)
        let after = try await metrics(server)
        XCTAssertEqual(after.value("webhook_events_ingested_total"), before + 3, after.text)
        XCTAssertEqual(after.types["webhook_events_ingested_total"], "counter", after.text)

        let answer = try await HTTPCall.get("\(server.base)/metrics")
        let contentType = answer.header("Content-Type")
        XCTAssertTrue(contentType?.hasPrefix("text/plain; version=0.0.4") ?? false, contentType ?? "none")

        // The probe reads the depths every few seconds; this server's queue holds 3.
        try await eventually("webhook_queue_depth reaching 3", timeout: 30, interval: 0.2, {
            try await metrics(server).value("webhook_queue_depth")
        }, until: { $0 == 3 })
    }

    func testHealthzFollowsRedis() async throws {
        let server = try await start()
        let healthy = try await HTTPCall.waitForStatus(200, at: "\(server.base)/healthz")
        XCTAssertEqual(healthy.text, "ok\n")
        redis.kill()
        let unhealthy = try await HTTPCall.waitForStatus(503, at: "\(server.base)/healthz")
        XCTAssertEqual(unhealthy.text, "redis unavailable\n")
        // Several failed reconnects later it still answers, and recovers with Redis.
        try await Task.sleep(for: .seconds(3))
        let stillDown = try await HTTPCall.get("\(server.base)/healthz")
        XCTAssertEqual(stillDown.status, 503)
        try redis.restart()
        let recovered = try await HTTPCall.waitForStatus(200, at: "\(server.base)/healthz")
        XCTAssertEqual(recovered.text, "ok\n")
    }

    func testMetricsServerServesOnlyMetricsAndHealth() async throws {
        let healthy = HealthFlag()
        var logger = Logger(label: "metrics-test")
        logger.logLevel = .error
        let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
        let metricsServer = MetricsServer(
            listen: HostPort(host: "127.0.0.1", port: 0), registry: Telemetry.bootstrap(),
            isHealthy: { healthy.value }, logger: logger, onListening: { continuation.yield($0) }
        )
        let group = ServiceGroup(services: [metricsServer], logger: logger)
        let task = Task { try await group.run() }
        var iterator = ports.makeAsyncIterator()
        let bound = await iterator.next()
        let port = try XCTUnwrap(bound)
        let base = "http://127.0.0.1:\(port)"

        var answer = try await HTTPCall.get("\(base)/healthz")
        XCTAssertEqual(answer.status, 503)
        healthy.value = true
        answer = try await HTTPCall.get("\(base)/healthz")
        XCTAssertEqual(answer.status, 200)
        XCTAssertEqual(answer.text, "ok\n")
        answer = try await HTTPCall.get("\(base)/metrics")
        XCTAssertEqual(answer.status, 200)
        answer = try await HTTPCall.get("\(base)/events")
        XCTAssertEqual(answer.status, 404)
        await group.triggerGracefulShutdown()
        _ = await task.result
    }

    private func metrics(_ server: IngestUnderTest) async throws -> PrometheusText {
        PrometheusText(try await HTTPCall.get("\(server.base)/metrics").text)
    }
}

/// A health flag a test flips.
private final class HealthFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var flag = false  // guarded by `lock`
    var value: Bool {
        get { lock.lock(); defer { lock.unlock() }; return flag }
        set { lock.lock(); flag = newValue; lock.unlock() }
    }
}
