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

    /// Reconnecting is paced as documented (0.1 s doubling to a 5 s cap, ±25 % jitter), counted
    /// where it happens: at a port that accepts each connection and closes it, as a Redis that is
    /// down behind a proxy does. The worker's own log is not the witness.
    func testReconnectAttemptsAtTheRedisPortBackOffAndCapAtFiveSeconds() async throws {
        let down = try AcceptCounter()
        defer { down.stop() }
        let a = try await receiver()
        let worker = try startWorker(["WEBHOOK_ADDRESS": a.url, "REDIS_URL": "redis://127.0.0.1:\(down.port)/0"])
        // One attempt may open more than one connection (the start-up check, then the join):
        // connections less than 50 ms apart are one attempt; the shortest delay is 75 ms.
        let attempts = try await waitFor("9 connection attempts at the port", timeout: 40, {
            Self.attempts(down.times)
        }, until: { $0.count >= 9 })
        let gaps = zip(attempts.dropFirst(), attempts).map { $0 - $1 }.prefix(8)
        XCTAssertTrue(worker.isRunning, "no crash while Redis is away")
        for (index, gap) in gaps.enumerated() {
            let base = min(5, 0.1 * Double(1 << index))
            // Jitter is ±25 %; an attempt itself and a busy machine add a little.
            XCTAssertGreaterThanOrEqual(gap, base * 0.75, "gap \(index) of \(Array(gaps))")
            XCTAssertLessThanOrEqual(gap, base * 1.25 + 0.15, "gap \(index) of \(Array(gaps))")
        }
        // Uncapped, the 8th gap would be 12.8 s ± 25 %.
        XCTAssertLessThanOrEqual(gaps.max() ?? 0, 6.4, "never above the cap plus jitter: \(Array(gaps))")
        // SIGTERM while the worker still waits to join: a clean exit.
        await stop(worker)
    }

    /// Accept times grouped into attempts: a connection within 50 ms of the previous one belongs
    /// to its attempt.
    static func attempts(_ times: [Double]) -> [Double] {
        var out: [Double] = []
        var last = -Double.infinity
        for time in times {
            if time - last >= 0.05 { out.append(time) }
            last = time
        }
        return out
    }

    func testWarnsWhenMaxmemoryPolicyCanEvict() async throws {
        redis = try RedisServer(extraArguments: ["--maxmemory-policy", "allkeys-lru"])
        let a = try await receiver()
        let worker = try startWorker(["WEBHOOK_ADDRESS": a.url])
        try await waitFor("the maxmemory-policy warning", { worker.log.contains("maxmemory-policy") }, until: { $0 })
        await stop(worker)
    }
}
