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
        _ = try await slow.waitForRequests(count: 300, timeout: 60)
        redis.stop()
        try await Task.sleep(for: .seconds(1))
        try redis.restart()
        // Count requests first (cheap); parse bodies only once enough have arrived.
        try await waitFor("at least 3000 deliveries after the restart", timeout: 180, { slow.count }, until: { $0 >= 3000 })
        try await waitFor("all 3000 events delivered", timeout: 60, {
            Set(try usernames(slow.requests)).count
        }, until: { $0 == 3000 })
        XCTAssertTrue(worker.isRunning, "the worker survived the outage")
        try await waitFor("processing lists empty", { try processingTotal() }, until: { $0 == 0 })
        await stop(worker)
    }

    /// Redis restarts without persistence while the worker holds events whose attempts fail:
    /// the new server has no processing list, so their retries would be fenced out and lost.
    /// The worker puts back what it holds first, so every held event gets its retry.
    func testARestartWithoutPersistenceForgetsNothingTheWorkerHeld() async throws {
        redis = try RedisServer()  // no persistence: it comes back empty
        let held = 20
        let endpoint = try await receiver(.respond { _, index in
            index < held ? ReceiverResponse(status: 500, delay: 1) : ReceiverResponse(status: 200)
        })
        let worker = try startWorker(["WEBHOOK_ADDRESS": endpoint.url, "WEBHOOK_CONCURRENCY": "32", "WEBHOOK_TIMEOUT": "2",
                                      "WEBHOOK_LEASE": "4", "RECURRENT_NOTIFICATIONS_TIMEOUT": "1"])
        try push(held)
        // Every event is on the wire and its failure answer is a second away: held in memory.
        _ = try await endpoint.waitForRequests(count: held, timeout: 30)
        redis.kill()  // at once: a graceful stop of redis-server may take seconds
        try redis.restart()
        try await waitFor("every held event retried after the restart", timeout: 60, {
            Set(try usernames(endpoint.requests.filter { $0.index >= held })).count
        }, until: { $0 == held })
        XCTAssertTrue(try endpoint.requests.filter { $0.index >= held }.allSatisfy { try json($0)["tries"] as? Int == 1 })
        XCTAssertTrue(worker.log.contains("reconciled this worker's processing list"), worker.log.suffix(3000).description)
        try await waitFor("nothing left", { [try llen("queue"), try zcard("delayed"), try processingTotal()] }, until: { $0 == [0, 0, 0] })
        await stop(worker)
    }

    func testRedisDownMeansCappedGrowingBackoffNotATightLoop() async throws {
        let a = try await receiver()
        redis.stop()
        let worker = try startWorker(["WEBHOOK_ADDRESS": a.url])
        // Backoff 0.1 s · 2ⁿ capped at 5 s, ±25 % jitter: the 7th and 8th delays are at the cap
        // (uncapped, the 8th would be 12.8 s ± 25 %).
        let series = try await waitFor("8 reconnect delays logged by one loop", timeout: 90, {
            Self.retryDelays(in: worker.log).values.max { $0.count < $1.count } ?? []
        }, until: { $0.count >= 8 })
        XCTAssertTrue(worker.isRunning, "no crash while Redis is away")
        XCTAssertLessThanOrEqual(series[0], 0.13, "starts near 0.1 s: \(series)")
        for index in 1..<6 {
            XCTAssertGreaterThan(series[index], series[index - 1], "each delay doubles (jitter is ±25 %): \(series)")
        }
        XCTAssertGreaterThanOrEqual(min(series[6], series[7]), 3.7, "reaches the 5 s cap: \(series)")
        XCTAssertLessThanOrEqual(series.max() ?? 0, 6.26, "never above the cap plus jitter: \(series)")
        try redis.restart()
        try push(5)
        _ = try await a.waitForRequests(count: 5, timeout: 60)
        await stop(worker)
    }

    func testWarnsWhenMaxmemoryPolicyCanEvict() async throws {
        redis = try RedisServer(extraArguments: ["--maxmemory-policy", "allkeys-lru"])
        let a = try await receiver()
        let worker = try startWorker(["WEBHOOK_ADDRESS": a.url])
        try await waitFor("the maxmemory-policy warning", { worker.log.contains("maxmemory-policy") }, until: { $0 })
        await stop(worker)
    }

    /// The `retry_in=<seconds>s` values in the log, grouped by the message that carries them
    /// (each loop that talks to Redis keeps its own backoff), in order.
    static func retryDelays(in log: String) -> [String: [Double]] {
        var out: [String: [Double]] = [:]
        for line in log.split(separator: "\n") {
            guard let range = line.range(of: "retry_in=") else { continue }
            let digits = line[range.upperBound...].prefix { $0.isNumber || $0 == "." }
            guard let value = Double(digits) else { continue }
            let message = line.range(of: "] ", options: .backwards).map { String(line[$0.upperBound...]) } ?? ""
            out[message, default: []].append(value)
        }
        return out
    }
}
