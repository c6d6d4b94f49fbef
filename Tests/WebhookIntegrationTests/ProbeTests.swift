import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Logging
import ServiceLifecycle
import TestSupport
import WebhookCore
import WebhookServer
import XCTest

/// `/livez` and `/readyz` on a real worker and a real bridge, against real redis-servers made
/// unreachable, a replica, and out of memory (`/livez` against a real thread that stops, in-process,
/// is `LivenessProbeTests`).
final class ProbeTests: WorkerTestCase {
    func testWorkerReadyzFollowsRedisWritabilityAndLivezWatchesTheLoops() async throws {
        let endpoint = try await receiver()
        // Retried on another port if the one found free is taken before the worker binds it.
        let (worker, base) = try await startWorkerWithMetrics(["WEBHOOK_ADDRESS": endpoint.url])

        let ready = try await waitFor(base, "/readyz", status: 200, log: worker)
        XCTAssertEqual(ready, "ok\n")
        let (liveStatus, live) = try await get(base, "/livez")
        XCTAssertEqual(liveStatus, 200, live)
        XCTAssertEqual(live, "ok: dispatcher, health-probe, maintenance, taker\n", "the runtime's loops are watched")
        try push(3)
        _ = try await endpoint.waitForRequests(count: 3, timeout: 30)

        // A replica answers PING (healthz unchanged: 200) but takes no writes.
        let other = try RedisServer()
        XCTAssertEqual(try redis.redisCLI("REPLICAOF", "127.0.0.1", String(other.port)), "OK")
        let replica = try await waitFor(base, "/readyz", status: 503, log: worker)
        XCTAssertTrue(replica.contains("replica"), replica)
        let healthzOnReplica = try await get(base, "/healthz")
        XCTAssertEqual(healthzOnReplica.0, 200, "healthz stays as it was: Redis answers")
        let livezOnReplica = try await get(base, "/livez")
        XCTAssertEqual(livezOnReplica.0, 200, "a read-only Redis is not a stalled process")
        XCTAssertEqual(try redis.redisCLI("REPLICAOF", "NO", "ONE"), "OK")
        _ = try await waitFor(base, "/readyz", status: 200, log: worker)

        // A master that refuses writes (maxmemory reached under noeviction).
        XCTAssertEqual(try redis.redisCLI("CONFIG", "SET", "maxmemory-policy", "noeviction"), "OK")
        XCTAssertEqual(try redis.redisCLI("CONFIG", "SET", "maxmemory", "1"), "OK")
        let full = try await waitFor(base, "/readyz", status: 503, log: worker)
        XCTAssertTrue(full.contains("OOM"), full)
        let healthzWhenFull = try await get(base, "/healthz")
        XCTAssertEqual(healthzWhenFull.0, 200)
        XCTAssertEqual(try redis.redisCLI("CONFIG", "SET", "maxmemory", "0"), "OK")
        _ = try await waitFor(base, "/readyz", status: 200, log: worker)

        // Redis gone: not ready and not healthy, but alive (a restart would not bring Redis back).
        redis.kill()
        let down = try await waitFor(base, "/readyz", status: 503, log: worker)
        XCTAssertTrue(down.hasPrefix("not ready: "), down)
        _ = try await waitFor(base, "/healthz", status: 503, log: worker)
        for _ in 0..<3 {
            let livezWithRedisDown = try await get(base, "/livez")
            XCTAssertEqual(livezWithRedisDown.0, 200)
            try await Task.sleep(for: .seconds(1))
        }
        XCTAssertTrue(worker.log.contains("refuses writes"), "the refusal is logged once it starts")
        worker.terminate()
        let exitStatus = await worker.exit(timeout: 20)
        XCTAssertNotNil(exitStatus)
    }

    func testBridgeAnswersLivezAndReadyz() async throws {
        // Retried on another port if the one found free is taken; killed in tearDown.
        let (bridge, base) = try await startBridge(["INGEST_SECRET": "s"])

        let bridgeReady = try await waitFor(base, "/readyz", status: 200, log: bridge)
        XCTAssertEqual(bridgeReady, "ok\n")
        let bridgeLive = try await get(base, "/livez")
        XCTAssertEqual(bridgeLive.1, "ok: health-probe\n")
        let bridgeHealth = try await get(base, "/healthz")
        XCTAssertEqual(bridgeHealth.1, "ok\n")

        let other = try RedisServer()
        XCTAssertEqual(try redis.redisCLI("REPLICAOF", "127.0.0.1", String(other.port)), "OK")
        let replica = try await waitFor(base, "/readyz", status: 503, log: bridge)
        XCTAssertTrue(replica.contains("replica"), replica)
        let bridgeHealthOnReplica = try await get(base, "/healthz")
        XCTAssertEqual(bridgeHealthOnReplica.0, 200)
        XCTAssertEqual(try redis.redisCLI("REPLICAOF", "NO", "ONE"), "OK")
        _ = try await waitFor(base, "/readyz", status: 200, log: bridge)

        redis.kill()
        _ = try await waitFor(base, "/readyz", status: 503, log: bridge)
        let bridgeLiveWithRedisDown = try await get(base, "/livez")
        XCTAssertEqual(bridgeLiveWithRedisDown.0, 200)
    }

    // MARK: Helpers

    /// Polls `path` until it answers `status`; returns the body. Fails with the last answer and
    /// the process log otherwise.
    private func waitFor(_ base: String, _ path: String, status wanted: Int, log process: WorkerProcess? = nil,
                         file: StaticString = #filePath, line: UInt = #line) async throws -> String {
        let deadline = Date().addingTimeInterval(30)
        var last = (0, "")
        while Date() < deadline {
            if let answer = try? await get(base, path) {
                last = answer
                if answer.0 == wanted { return answer.1 }
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        XCTFail("\(path) never answered \(wanted); last \(last); log:\n\(process?.log.suffix(3000) ?? "")",
                file: file, line: line)
        return last.1
    }

    private func get(_ base: String, _ path: String) async throws -> (Int, String) {
        let (data, response) = try await Self.session.data(for: URLRequest(url: URL(string: base + path)!))
        return ((response as? HTTPURLResponse)?.statusCode ?? 0, String(decoding: data, as: UTF8.self))
    }

    private static let session: URLSession = {
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = 10
        configuration.requestCachePolicy = .reloadIgnoringLocalCacheData
        return URLSession(configuration: configuration)
    }()
}
