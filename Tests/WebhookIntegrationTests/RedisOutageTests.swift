import Foundation
import TestSupport
import XCTest

/// Redis restarts and outages: reconnect with backoff, lose nothing (with AOF).
final class RedisOutageTests: WorkerTestCase {
    override func setUp() async throws {
        try await super.setUp()
        redis = try RedisServer(appendonly: true)
    }

    func testRedisRestartMidRunLosesNoEvent() async throws {
        let slow = try await receiver(.respond { _, _ in ReceiverResponse(status: 200, delay: 0.01) })
        let worker = try startWorker(["WEBHOOK_ADDRESS": slow.url, "WEBHOOK_CONCURRENCY": "16"])
        try push(3000)
        _ = try await slow.waitForRequests(count: 300, timeout: 30)
        redis.stop()
        try await Task.sleep(for: .seconds(1))
        try redis.restart()
        XCTAssertTrue(try eventually(timeout: 120) { Set(try usernames(slow.requests)).count == 3000 },
                      "delivered \((try? Set(usernames(slow.requests)).count) ?? -1) of 3000\n\(worker.log.suffix(2000))")
        XCTAssertTrue(worker.isRunning, "the worker survived the outage")
        XCTAssertTrue(try eventually(timeout: 20) { try processingTotal() == 0 })
        stopCleanly(worker)
    }

    func testRedisDownMeansBackoffNotATightLoop() async throws {
        let a = try await receiver()
        redis.stop()
        let worker = try startWorker(["WEBHOOK_ADDRESS": a.url])
        try await Task.sleep(for: .seconds(4))
        XCTAssertTrue(worker.isRunning, "no crash while Redis is away")
        let retries = worker.log.components(separatedBy: "retrying").count - 1
        XCTAssertGreaterThan(retries, 0, worker.log)
        XCTAssertLessThan(retries, 60, "capped exponential backoff, not a spin: \(retries) retries in 4 s")
        try redis.restart()
        try push(5)
        _ = try await a.waitForRequests(count: 5, timeout: 30)
        stopCleanly(worker)
    }

    func testWarnsWhenMaxmemoryPolicyCanEvict() async throws {
        redis = try RedisServer(extraArguments: ["--maxmemory-policy", "allkeys-lru"])
        let a = try await receiver()
        let worker = try startWorker(["WEBHOOK_ADDRESS": a.url])
        XCTAssertTrue(eventually(timeout: 20) { worker.log.contains("maxmemory-policy") }, worker.log)
        stopCleanly(worker)
    }
}
