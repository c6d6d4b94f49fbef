import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Logging
import ServiceLifecycle
import TestSupport
import WebhookCore
import WebhookRedis
import WebhookServer
import XCTest

/// The Marzban bridge against a real redis-server and real HTTP on 127.0.0.1.
final class IngestServerTests: XCTestCase {
    private let secret = "something-very-very-secret"

    // Two events as Marzban 0.8.4 sends them (field order, nesting and spacing kept), one POST.
    private let first = #"{"enqueued_at": 1680506457.636369, "send_at": 1680506457.636369, "tries": 0, "username": "example_user", "action": "user_created", "by": {"username": "admin", "is_sudo": true, "telegram_id": null}}"#
    private let second = #"{"username":"other","action":"user_limited","user":{"used_traffic":10,"data_limit":10,"note":"caf\u00e9 \"quoted\""}}"#

    func testMarzbanArrayWithRawSecretLandsVerbatim() async throws {
        let redis = try RedisServer()
        let server = try await IngestUnderTest.start(redis: redis, secret: secret)
        defer { server.stop() }

        let body = "[\(first), \(second)]"
        let (status, answer) = try await post(server, body: body, secret: secret)
        XCTAssertEqual(status, 202, answer)
        XCTAssertEqual(answer, #"{"enqueued":2}"#)
        // LPUSH puts the last event at the head; the worker takes from the tail: body order.
        XCTAssertEqual(try queue(redis, server.prefix), [second, first])
    }

    func testSingleObjectAndHMACHeaderAccepted() async throws {
        let redis = try RedisServer()
        let server = try await IngestUnderTest.start(redis: redis, secret: secret)
        defer { server.stop() }

        let hmac = try XCTUnwrap(WebhookSigner(secret: secret).hexSignature(Array(first.utf8)))
        let (status, answer) = try await post(server, body: first, secret: hmac)
        XCTAssertEqual(status, 202, answer)
        XCTAssertEqual(answer, #"{"enqueued":1}"#)
        XCTAssertEqual(try queue(redis, server.prefix), [first])

        let (emptyStatus, emptyAnswer) = try await post(server, body: "[]", secret: secret)
        XCTAssertEqual(emptyStatus, 202)
        XCTAssertEqual(emptyAnswer, #"{"enqueued":0}"#)
        XCTAssertEqual(try queue(redis, server.prefix), [first])
    }

    func testWrongOrMissingSecretIs401AndEnqueuesNothing() async throws {
        let redis = try RedisServer()
        let server = try await IngestUnderTest.start(redis: redis, secret: secret)
        defer { server.stop() }

        let body = "[\(first)]"
        for header in ["wrong", secret + "x", String(secret.dropLast()), nil] as [String?] {
            let (status, answer) = try await post(server, body: body, secret: header)
            XCTAssertEqual(status, 401, "header \(header ?? "missing")")
            XCTAssertEqual(answer, #"{"error":"invalid secret"}"#)
        }
        // An HMAC of some other body does not authenticate this one.
        let otherHMAC = try XCTUnwrap(WebhookSigner(secret: secret).hexSignature(Array(second.utf8)))
        let (status, _) = try await post(server, body: body, secret: otherHMAC)
        XCTAssertEqual(status, 401)
        XCTAssertEqual(try queue(redis, server.prefix), [])
    }

    func testInvalidBodiesAre400AndEnqueueNothing() async throws {
        let redis = try RedisServer()
        let server = try await IngestUnderTest.start(redis: redis, secret: secret)
        defer { server.stop() }

        let cases: [(body: String, mentions: String)] = [
            ("not json", "not JSON"),
            ("", "not JSON"),
            (#"[{"username":"u","action":"user_created"}"#, "not JSON"),
            (#""user_created""#, "array of events"),
            // The worker's own grammar (Event.parse) decides, with its reasons.
            ("[\(first), {\"username\":\"u\",\"tries\":0}]", #"event 1: no \"action\""#),
            ("[\(first), {\"username\":\"u\",\"action\":\"\"}]", #"event 1: no \"action\""#),
            ("[\(first), {\"username\":\"u\",\"action\":7}]", "event 1"),
            (#"[{"action":"user_created"}]"#, #"event 0: no \"username\""#),
            ("[\(first), 5]", "event 1: not a JSON object"),
            (#"{"username":"u"}"#, #"no \"action\""#),
            // The last of duplicated keys counts, as in the worker: a number username is refused.
            (#"{"action":"user_created","username":"u","username":5}"#, #"no \"username\""#),
        ]
        for (body, mentions) in cases {
            let (status, answer) = try await post(server, body: body, secret: secret)
            XCTAssertEqual(status, 400, "body \(body)")
            XCTAssertTrue(answer.contains(mentions), "body \(body): answer \(answer)")
        }
        XCTAssertEqual(try queue(redis, server.prefix), [])
    }

    func testBodyOverTheLimitIs413() async throws {
        let redis = try RedisServer()
        let server = try await IngestUnderTest.start(redis: redis, secret: secret, maxBytes: 4096)
        defer { server.stop() }

        // Well over the limit, so the server answers long before it has read the body.
        let padding = String(repeating: "x", count: 2_000_000)
        let body = #"[{"username":"u","action":"user_created","pad":""# + padding + #""}]"#
        let (status, answer) = try await post(server, body: body, secret: secret)
        XCTAssertEqual(status, 413, answer)
        XCTAssertTrue(answer.contains("4096"), answer)

        // Just over the limit, and just under it.
        let near = #"{"username":"u","action":"a","pad":""#
        let over = near + String(repeating: "y", count: 4097 - near.utf8.count - 2) + #""}"#
        XCTAssertEqual(over.utf8.count, 4097)
        let (overStatus, _) = try await post(server, body: over, secret: secret)
        XCTAssertEqual(overStatus, 413)
        let under = near + String(repeating: "y", count: 4096 - near.utf8.count - 2) + #""}"#
        XCTAssertEqual(under.utf8.count, 4096)
        let (underStatus, underAnswer) = try await post(server, body: under, secret: secret)
        XCTAssertEqual(underStatus, 202, underAnswer)
        XCTAssertEqual(try queue(redis, server.prefix), [under])
    }

    func testRedisDownIs503AndRecovers() async throws {
        let redis = try RedisServer()
        let server = try await IngestUnderTest.start(redis: redis, secret: secret)
        defer { server.stop() }
        let body = "[\(first)]"

        var (status, answer) = try await post(server, body: body, secret: secret)
        XCTAssertEqual(status, 202, answer)
        // The pooled connection dies with the restart; the next POST must still succeed.
        try redis.restart()
        (status, answer) = try await post(server, body: body, secret: secret)
        XCTAssertEqual(status, 202, answer)
        XCTAssertEqual(try queue(redis, server.prefix), [first])

        redis.kill()
        for _ in 0..<2 {
            (status, answer) = try await post(server, body: body, secret: secret)
            XCTAssertEqual(status, 503, answer)
            XCTAssertEqual(answer, #"{"error":"redis unavailable"}"#)
        }

        try redis.restart()
        (status, answer) = try await post(server, body: body, secret: secret)
        XCTAssertEqual(status, 202, answer)
        XCTAssertEqual(try queue(redis, server.prefix), [first])
    }

    func testMetricsCountIngestedEventsAndShowDepths() async throws {
        let redis = try RedisServer()
        let server = try await IngestUnderTest.start(redis: redis, secret: secret)
        defer { server.stop() }

        // The registry is process-wide: other tests may have counted already.
        let before = try await metric(server, "webhook_events_ingested_total") ?? 0
        let (status, _) = try await post(server, body: "[\(first), \(second), \(first)]", secret: secret)
        XCTAssertEqual(status, 202)
        let after = try await metric(server, "webhook_events_ingested_total")
        XCTAssertEqual(after, before + 3)

        let (_, text, contentType) = try await get(server, "/metrics")
        XCTAssertTrue(contentType?.hasPrefix("text/plain; version=0.0.4") ?? false, contentType ?? "none")
        XCTAssertTrue(text.contains("# TYPE webhook_events_ingested_total counter"), text)

        // The probe reads the depths every few seconds; this server's queue holds 3.
        let deadline = Date().addingTimeInterval(30)
        var depth: Double?
        while Date() < deadline {
            depth = try await metric(server, "webhook_queue_depth")
            if depth == 3 { break }
            try await Task.sleep(for: .milliseconds(200))
        }
        XCTAssertEqual(depth, 3)
    }

    func testHealthzFollowsRedis() async throws {
        let redis = try RedisServer()
        let server = try await IngestUnderTest.start(redis: redis, secret: secret)
        defer { server.stop() }

        let healthy = try await waitForHealth(server, status: 200)
        XCTAssertEqual(healthy, "ok\n")
        redis.kill()
        let unhealthy = try await waitForHealth(server, status: 503)
        XCTAssertEqual(unhealthy, "redis unavailable\n")
        // Several failed reconnects later it still answers, and recovers with Redis.
        try await Task.sleep(for: .seconds(3))
        let (stillDown, _, _) = try await get(server, "/healthz")
        XCTAssertEqual(stillDown, 503)
        try redis.restart()
        let recovered = try await waitForHealth(server, status: 200)
        XCTAssertEqual(recovered, "ok\n")
    }

    func testMetricsServerServesOnlyMetricsAndHealth() async throws {
        let healthy = HealthFlag()
        var logger = Logger(label: "metrics-test")
        logger.logLevel = .error
        let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
        let server = MetricsServer(
            listen: HostPort(host: "127.0.0.1", port: 0), registry: Telemetry.bootstrap(),
            isHealthy: { healthy.value }, logger: logger, onListening: { continuation.yield($0) }
        )
        let group = ServiceGroup(services: [server], logger: logger)
        _ = Task { try await group.run() }
        defer { Task { await group.triggerGracefulShutdown() } }
        var iterator = ports.makeAsyncIterator()
        let bound = await iterator.next()
        let port = try XCTUnwrap(bound)
        let base = "http://127.0.0.1:\(port)"

        var (status, text, _) = try await get(base, "/healthz")
        XCTAssertEqual(status, 503)
        healthy.value = true
        (status, text, _) = try await get(base, "/healthz")
        XCTAssertEqual(status, 200)
        XCTAssertEqual(text, "ok\n")
        (status, _, _) = try await get(base, "/metrics")
        XCTAssertEqual(status, 200)
        (status, _, _) = try await get(base, "/events")
        XCTAssertEqual(status, 404)
    }

    // MARK: Helpers

    /// Polls /healthz until it answers `status` (generous deadline: a noisy 2-core machine).
    private func waitForHealth(_ server: IngestUnderTest, status wanted: Int) async throws -> String {
        let deadline = Date().addingTimeInterval(30)
        var last = (0, "")
        while Date() < deadline {
            let (status, text, _) = try await get(server, "/healthz")
            last = (status, text)
            if status == wanted { return text }
            try await Task.sleep(for: .milliseconds(100))
        }
        XCTFail("/healthz never answered \(wanted); last \(last)")
        return last.1
    }

    /// The value of an unlabelled sample in /metrics, or nil when absent.
    private func metric(_ server: IngestUnderTest, _ name: String) async throws -> Double? {
        let (_, text, _) = try await get(server, "/metrics")
        for line in text.split(separator: "\n") where line.hasPrefix(name + " ") {
            return Double(line.dropFirst(name.count + 1))
        }
        return nil
    }

    private func queue(_ redis: RedisServer, _ prefix: String) throws -> [String] {
        let connection = try RedisConnection(url: redis.url)
        guard case .array(let items) = try connection.command("LRANGE", "\(prefix):queue", "0", "-1") else {
            XCTFail("LRANGE did not answer an array")
            return []
        }
        return items.map { item in
            guard case .string(let bytes) = item else { return "<not a string: \(item)>" }
            return String(decoding: bytes, as: UTF8.self)
        }
    }

    private func post(_ server: IngestUnderTest, body: String, secret: String?) async throws -> (Int, String) {
        var request = URLRequest(url: URL(string: "\(server.base)/events")!)
        request.httpMethod = "POST"
        request.httpBody = Data(body.utf8)
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        if let secret { request.setValue(secret, forHTTPHeaderField: "x-webhook-secret") }
        let (data, response) = try await Self.session.data(for: request)
        return ((response as? HTTPURLResponse)?.statusCode ?? 0, String(decoding: data, as: UTF8.self))
    }

    private func get(_ server: IngestUnderTest, _ path: String) async throws -> (Int, String, String?) {
        try await get(server.base, path)
    }

    private func get(_ base: String, _ path: String) async throws -> (Int, String, String?) {
        let (data, response) = try await Self.session.data(for: URLRequest(url: URL(string: base + path)!))
        let http = response as? HTTPURLResponse
        return (http?.statusCode ?? 0, String(decoding: data, as: UTF8.self), http?.value(forHTTPHeaderField: "Content-Type"))
    }

    private static let session: URLSession = {
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = 30
        configuration.requestCachePolicy = .reloadIgnoringLocalCacheData
        return URLSession(configuration: configuration)
    }()
}

/// An `IngestServer` running in a service group on a free port of 127.0.0.1, with its own key
/// prefix.
private final class IngestUnderTest: Sendable {
    let port: Int
    let prefix: String
    private let group: ServiceGroup

    var base: String { "http://127.0.0.1:\(port)" }

    private init(port: Int, prefix: String, group: ServiceGroup) {
        self.port = port
        self.prefix = prefix
        self.group = group
    }

    static func start(redis: RedisServer, secret: String?, maxBytes: Int = 1_048_576) async throws -> IngestUnderTest {
        let prefix = "ingest-\(UUID().uuidString.prefix(8))"
        var variables = [
            "REDIS_URL": "redis://127.0.0.1:\(redis.port)/0",
            "REDIS_KEY_PREFIX": prefix,
            "WEBHOOK_MAX_PAYLOAD_BYTES": String(maxBytes),
            "INGEST_LISTEN": "127.0.0.1:0",
        ]
        if let secret { variables["INGEST_SECRET"] = secret }
        let configuration = try Configuration.load(variables)
        var logger = Logger(label: "ingest-test")
        logger.logLevel = .error  // the tests kill Redis under a running probe

        let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
        let server = IngestServer(
            configuration: configuration, registry: Telemetry.bootstrap(), logger: logger,
            onListening: { continuation.yield($0) }
        )
        let group = ServiceGroup(services: [server], logger: logger)
        let task = Task {
            defer { continuation.finish() }
            try await group.run()
        }
        // The stream ends without a port when run() fails (e.g. cannot bind).
        var iterator = ports.makeAsyncIterator()
        guard let port = await iterator.next(), port > 0 else {
            task.cancel()
            let outcome = await task.result
            throw IngestTestError(message: "ingest server did not start: \(outcome)")
        }
        return IngestUnderTest(port: port, prefix: prefix, group: group)
    }

    /// Asks the server to shut down gracefully; it finishes in the background.
    func stop() {
        let group = self.group
        Task { await group.triggerGracefulShutdown() }
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

private struct IngestTestError: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
}
