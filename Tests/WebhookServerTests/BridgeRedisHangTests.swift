import Foundation
import TestSupport
import WebhookServer
import XCTest

/// The bridge while Redis hangs (issue 24, item 5), with a real redis-server stopped by SIGSTOP.
/// A write whose reply is lost may still run when Redis resumes; every write carries its POST's
/// ingest id, checked and set in the same script, so a retried write runs once, and each event
/// is in the queue once, with one webhook-id. The health probe has threads of its own, so
/// `/livez` does not wait behind the stuck writes.
final class BridgeRedisHangTests: XCTestCase {
    private let secret = IngestServerTests.secret
    private var redis: RedisServer!
    private var server: IngestUnderTest?

    override func setUp() async throws {
        redis = try RedisServer()
    }

    override func tearDown() async throws {
        redis.resume()
        await server?.stop()
        server = nil
        redis = nil
    }

    func testPostsDuringAHangAreEnqueuedOnceAndLivezStaysUp() async throws {
        var timing = IngestServer.Timing()
        timing.redisReadTimeout = 0.5  // writes in doubt, and retried, several times in the hang
        timing.livenessBound = 4       // a probe queued behind the writes would stall past this
        let server = try await IngestUnderTest.start(redis: redis, secret: secret, timing: timing)
        self.server = server
        try await HTTPCall.waitForStatus(200, at: "\(server.base)/readyz", timeout: 10)
        let posts = 12, perPost = 3

        // Raw connections: an HTTP library would queue the later requests behind the first few
        // (a handful of connections per host), and /livez behind them all.
        redis.pause()
        var clients: [RawClient] = []
        for post in 0..<posts {
            let events = (0..<perPost).map { #"{"username":"u\#(post)-\#($0)","action":"user_created"}"# }
            let body = "[\(events.joined(separator: ","))]"
            let client = try RawClient(port: server.port)
            try client.send("POST /events HTTP/1.1\r\nHost: bridge\r\nx-webhook-secret: \(secret)\r\n"
                            + "Content-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n\(body)")
            clients.append(client)
        }
        // /livez answers 200 throughout a hang longer than its bound.
        let hangEnds = Date().addingTimeInterval(6)
        var livez: [String] = []
        while Date() < hangEnds {
            let probe = try RawClient(port: server.port)
            try probe.send("GET /livez HTTP/1.1\r\nHost: bridge\r\nConnection: close\r\n\r\n")
            livez.append(try await probe.answer(timeout: 2).split(separator: "\r\n").first.map(String.init) ?? "")
            try await Task.sleep(nanoseconds: 250_000_000)
        }
        redis.resume()

        var statuses: [String] = []
        for client in clients {
            statuses.append(try await client.answer(timeout: 20).split(separator: "\r\n").first.map(String.init) ?? "")
        }
        XCTAssertEqual(Set(livez), ["HTTP/1.1 200 OK"], "/livez during the hang: \(livez)")
        XCTAssertEqual(statuses, Array(repeating: "HTTP/1.1 202 Accepted", count: posts))
        let queue = try server.queue(redis)
        XCTAssertEqual(queue.count, posts * perPost, "every event once: \(queue.sorted())")
        XCTAssertEqual(Set(queue).count, queue.count, "no event twice: \(queue.sorted())")
    }
}
