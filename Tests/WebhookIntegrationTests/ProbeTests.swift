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

        let ready = try await HTTPCall.waitForStatus(200, at: base + "/readyz", context: String(worker.log.suffix(3000))).text
        XCTAssertEqual(ready, "ok\n")
        let live = try await HTTPCall.get(base + "/livez")
        XCTAssertEqual(live.status, 200, live.text)
        XCTAssertEqual(live.text, "ok: dispatcher, health-probe, maintenance, taker\n", "the runtime's loops are watched")
        try push(3)
        _ = try await endpoint.waitForRequests(count: 3, timeout: 30)

        // A replica answers PING (healthz unchanged: 200) but takes no writes.
        let other = try RedisServer()
        XCTAssertEqual(try redis.redisCLI("REPLICAOF", "127.0.0.1", String(other.port)), "OK")
        let replica = try await HTTPCall.waitForStatus(503, at: base + "/readyz", context: String(worker.log.suffix(3000))).text
        XCTAssertTrue(replica.contains("replica"), replica)
        let healthzOnReplica = try await HTTPCall.get(base + "/healthz")
        XCTAssertEqual(healthzOnReplica.status, 200, "healthz stays as it was: Redis answers")
        let livezOnReplica = try await HTTPCall.get(base + "/livez")
        XCTAssertEqual(livezOnReplica.status, 200, "a read-only Redis is not a stalled process")
        XCTAssertEqual(try redis.redisCLI("REPLICAOF", "NO", "ONE"), "OK")
        _ = try await HTTPCall.waitForStatus(200, at: base + "/readyz", context: String(worker.log.suffix(3000))).text

        // A master that refuses writes (maxmemory reached under noeviction).
        XCTAssertEqual(try redis.redisCLI("CONFIG", "SET", "maxmemory-policy", "noeviction"), "OK")
        XCTAssertEqual(try redis.redisCLI("CONFIG", "SET", "maxmemory", "1"), "OK")
        let full = try await HTTPCall.waitForStatus(503, at: base + "/readyz", context: String(worker.log.suffix(3000))).text
        XCTAssertTrue(full.contains("OOM"), full)
        let healthzWhenFull = try await HTTPCall.get(base + "/healthz")
        XCTAssertEqual(healthzWhenFull.status, 200)
        XCTAssertEqual(try redis.redisCLI("CONFIG", "SET", "maxmemory", "0"), "OK")
        _ = try await HTTPCall.waitForStatus(200, at: base + "/readyz", context: String(worker.log.suffix(3000))).text

        // Redis gone: not ready and not healthy, but alive (a restart would not bring Redis back).
        redis.kill()
        let down = try await HTTPCall.waitForStatus(503, at: base + "/readyz", context: String(worker.log.suffix(3000))).text
        XCTAssertTrue(down.hasPrefix("not ready: "), down)
        _ = try await HTTPCall.waitForStatus(503, at: base + "/healthz", context: String(worker.log.suffix(3000))).text
        for _ in 0..<3 {
            let livezWithRedisDown = try await HTTPCall.get(base + "/livez")
            XCTAssertEqual(livezWithRedisDown.status, 200)
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

        let bridgeReady = try await HTTPCall.waitForStatus(200, at: base + "/readyz", context: String(bridge.log.suffix(3000))).text
        XCTAssertEqual(bridgeReady, "ok\n")
        let bridgeLive = try await HTTPCall.get(base + "/livez")
        XCTAssertEqual(bridgeLive.text, "ok: health-probe\n")
        let bridgeHealth = try await HTTPCall.get(base + "/healthz")
        XCTAssertEqual(bridgeHealth.text, "ok\n")

        let other = try RedisServer()
        XCTAssertEqual(try redis.redisCLI("REPLICAOF", "127.0.0.1", String(other.port)), "OK")
        let replica = try await HTTPCall.waitForStatus(503, at: base + "/readyz", context: String(bridge.log.suffix(3000))).text
        XCTAssertTrue(replica.contains("replica"), replica)
        let bridgeHealthOnReplica = try await HTTPCall.get(base + "/healthz")
        XCTAssertEqual(bridgeHealthOnReplica.status, 200)
        XCTAssertEqual(try redis.redisCLI("REPLICAOF", "NO", "ONE"), "OK")
        _ = try await HTTPCall.waitForStatus(200, at: base + "/readyz", context: String(bridge.log.suffix(3000))).text

        redis.kill()
        _ = try await HTTPCall.waitForStatus(503, at: base + "/readyz", context: String(bridge.log.suffix(3000))).text
        let bridgeLiveWithRedisDown = try await HTTPCall.get(base + "/livez")
        XCTAssertEqual(bridgeLiveWithRedisDown.status, 200)
    }
}
