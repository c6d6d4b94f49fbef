import Foundation
import TestSupport
import WebhookServer
import XCTest

/// A Redis whose `maxmemory-policy` evicts (issue 24, item 12): it drops queued events while
/// every write still succeeds. The bridge and a worker's metrics server check the policy at
/// start and periodically; an evicting one fails `/readyz`, naming the setting, and is logged
/// as an error.
final class EvictionPolicyTests: WorkerTestCase {
    func testEvictingPolicyFailsReadinessOfBridgeAndWorker() async throws {
        redis = try RedisServer(extraArguments: ["--maxmemory-policy", "allkeys-lru"])
        let (bridgeProcess, bridge) = try await startBridge(["INGEST_SECRET": "s"])
        let (worker, metrics) = try await startWorkerWithMetrics(["WEBHOOK_ADDRESS": "http://127.0.0.1:9/"])
        for (name, base, process) in [("bridge", bridge, bridgeProcess), ("worker", metrics, worker)] {
            let answer = try await HTTPCall.waitForStatus(503, at: "\(base)/readyz", timeout: 15)
            XCTAssertTrue(answer.text.contains("maxmemory-policy is allkeys-lru"), "\(name): \(answer.text)")
            XCTAssertTrue(answer.text.contains("set maxmemory-policy noeviction"), "\(name): \(answer.text)")
            let livez = try await HTTPCall.get("\(base)/livez")
            XCTAssertEqual(livez.status, 200, "\(name): \(livez.text)")
            try await waitFor("\(name) logs the policy as an error", timeout: 10, { process.log }, until: {
                $0.split(separator: "\n").contains { $0.contains("error") && $0.contains("maxmemory-policy=allkeys-lru") }
            })
        }
        await stop(worker)
    }

    func testPolicyIsCheckedPeriodically() async throws {
        var timing = IngestServer.Timing()
        timing.policyInterval = 0.3
        let server = try await IngestUnderTest.start(redis: redis, secret: "s", timing: timing)
        defer { Task { await server.stop() } }
        let readyz = "\(server.base)/readyz"
        try await HTTPCall.waitForStatus(200, at: readyz, timeout: 10)
        for (policy, status) in [("allkeys-lru", 503), ("noeviction", 200), ("allkeys-random", 503),
                                 ("volatile-lru", 200)] {
            _ = try redis.cli.run(["CONFIG", "SET", "maxmemory-policy", policy])
            let answer = try await HTTPCall.waitForStatus(status, at: readyz, timeout: 10)
            if status == 503 { XCTAssertTrue(answer.text.contains(policy), answer.text) }
        }
        await server.stop()
    }

    func testRenamedConfigIsSaidOnceAndDoesNotFailReadiness() async throws {
        redis = try RedisServer(extraArguments: ["--rename-command", "CONFIG", ""])
        let (bridgeProcess, bridge) = try await startBridge(["INGEST_SECRET": "s"])
        try await HTTPCall.waitForStatus(200, at: "\(bridge)/readyz", timeout: 15)
        try await waitFor("the bridge says it cannot check", timeout: 10, { bridgeProcess.log }, until: {
            $0.contains("cannot read redis maxmemory-policy")
        })
        await stop(bridgeProcess)
        XCTAssertEqual(bridgeProcess.log.components(separatedBy: "cannot read redis maxmemory-policy").count, 2, bridgeProcess.log)
    }
}
