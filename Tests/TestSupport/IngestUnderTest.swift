import Foundation
import Logging
import ServiceLifecycle
import WebhookCore
import WebhookServer

/// An `IngestServer` running in a service group on a free port of 127.0.0.1, with its own key
/// prefix. `stop()` waits until the server has shut down, so no test's server outlives it and
/// counts into the next test's metrics.
public final class IngestUnderTest: Sendable {
    public let port: Int
    public let prefix: String
    private let group: ServiceGroup
    private let task: Task<Void, any Error>

    public var base: String { "http://127.0.0.1:\(port)" }

    private init(port: Int, prefix: String, group: ServiceGroup, task: Task<Void, any Error>) {
        self.port = port
        self.prefix = prefix
        self.group = group
        self.task = task
    }

    /// - Parameters:
    ///   - maxBytes: `WEBHOOK_MAX_PAYLOAD_BYTES`, the per-event cap.
    ///   - variables: more configuration (e.g. `INGEST_MAX_BODY_BYTES`).
    ///   - timing: the bridge's Redis timings (tests shorten them).
    public static func start(redis: RedisServer, secret: String?, maxBytes: Int = 1_048_576,
                      variables extra: [String: String] = [:],
                      timing: IngestServer.Timing = IngestServer.Timing()) async throws -> IngestUnderTest {
        let prefix = "ingest-\(UUID().uuidString.prefix(8))"
        var variables = [
            "REDIS_URL": "redis://127.0.0.1:\(redis.port)/0",
            "REDIS_KEY_PREFIX": prefix,
            "WEBHOOK_MAX_PAYLOAD_BYTES": String(maxBytes),
            "INGEST_LISTEN": "127.0.0.1:0",
        ]
        if let secret { variables["INGEST_SECRET"] = secret }
        variables.merge(extra) { $1 }
        let configuration = try Configuration.load(variables)
        var logger = Logger(label: "ingest-test")
        logger.logLevel = .critical  // the tests kill Redis under a running probe and provoke rejections

        let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
        let server = IngestServer(
            configuration: configuration, registry: Telemetry.bootstrap(), logger: logger, timing: timing,
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
        return IngestUnderTest(port: port, prefix: prefix, group: group, task: task)
    }

    /// Shuts the server down gracefully and waits until it has stopped.
    public func stop() async {
        await group.triggerGracefulShutdown()
        _ = await task.result
    }

    /// POSTs `body` to /events with `secret` (nil: no header) in `x-webhook-secret`.
    public func post(body: String, secret: String?, headers extra: [String: String] = [:]) async throws -> (Int, String) {
        try await post(bytes: Array(body.utf8), secret: secret, headers: extra)
    }

    public func post(bytes: [UInt8], secret: String?, headers extra: [String: String] = [:]) async throws -> (Int, String) {
        var headers = ["Content-Type": "application/json"]
        if let secret { headers["x-webhook-secret"] = secret }
        headers.merge(extra) { $1 }
        let answer = try await HTTPCall.request("POST", "\(base)/events", body: bytes, headers: headers)
        return (answer.status, answer.text)
    }

    /// The queue as redis-cli sees it, head first (LRANGE 0 -1).
    public func queue(_ redis: RedisServer) throws -> [String] {
        try redis.cli.lines(["LRANGE", "\(prefix):queue", "0", "-1"])
    }
}

public struct IngestTestError: Error, CustomStringConvertible {
    public let message: String
    public var description: String { message }
}
