import Foundation
import TestSupport
import XCTest

/// A Redis that refuses writes or stops answering must neither get the worker restarted by its
/// liveness probe nor hold a stop past the orchestrator's grace period.
final class RedisStallTests: WorkerTestCase {
    /// Redis out of memory (`noeviction`) for longer than the liveness bound: the taker waits at
    /// its closed gate and maintenance backs off, on purpose. `/livez` stays 200 throughout (on
    /// Kubernetes a 503 restarts every worker, and each restart crash-marks what it held),
    /// `/readyz` is 503, and after recovery everything is delivered without crash marks.
    func testRedisOutOfMemoryLongerThanTheLivenessBoundIsNotAStall() async throws {
        let bound = 2.0
        // Every attempt fails while Redis is full, so every settle needs the writes OOM refuses.
        let flaky = try await receiver(.respond { _, _ in ReceiverResponse(status: 500, delay: 0.02) })
        let (worker, base) = try await startWorkerWithMetrics([
            "WEBHOOK_ADDRESS": flaky.url, "WEBHOOK_LIVENESS_BOUND": "\(Int(bound))", "WEBHOOK_MAX_INFLIGHT": "50",
            "WEBHOOK_BATCH_SIZE": "10", "WEBHOOK_CONCURRENCY": "4", "NUMBER_OF_RECURRENT_NOTIFICATIONS": "1000",
            "RECURRENT_NOTIFICATIONS_TIMEOUT": "1",
        ])
        try push(300)
        _ = try await flaky.waitForRequests(count: 50, timeout: 30)
        XCTAssertEqual(try redisCLI(["CONFIG", "SET", "maxmemory", "1"]).trimmingCharacters(in: .whitespacesAndNewlines), "OK")
        var live: [Int] = [], ready: [Int] = []
        let until = Date().addingTimeInterval(3 * bound + 1)
        while Date() < until {
            live.append((try? await HTTPCall.get("\(base)/livez").status) ?? 0)
            ready.append((try? await HTTPCall.get("\(base)/readyz").status) ?? 0)
            try await Task.sleep(nanoseconds: 200_000_000)
        }
        XCTAssertTrue(worker.log.contains("taking paused"), "the gate closed:\n\(worker.log.suffix(3000))")
        let lastLive = (try? await HTTPCall.get("\(base)/livez").text) ?? ""
        XCTAssertEqual(Set(live), [200], "/livez while Redis is out of memory for \(3 * bound + 1) s (bound \(bound) s): \(live)\n\(lastLive)")
        XCTAssertEqual(ready.last, 503, "/readyz while Redis refuses writes: \(ready)")

        flaky.setBehaviour(.status(200))
        _ = try redisCLI(["CONFIG", "SET", "maxmemory", "0"])
        try await waitFor("drained", timeout: 60, {
            [try llen("queue"), try zcard("delayed"), try processingTotal(), try llen("dead")]
        }, until: { $0 == [0, 0, 0, 0] })
        XCTAssertEqual(Set(try flaky.requests.map { try json($0)["username"] as? String }).count, 300)
        XCTAssertFalse(worker.log.contains("requeued the events of a worker"), "nothing was reaped or crash-marked")
        let liveAfter = try await HTTPCall.get("\(base)/livez")
        XCTAssertEqual(liveAfter.status, 200, liveAfter.text)
        await stop(worker)
    }

    /// SIGTERM while Redis hangs (SIGSTOP): the stop gives up on the hand-back after
    /// WEBHOOK_SHUTDOWN_GRACE + 1.5 s instead of waiting out Redis timeouts, exits 0, and says
    /// what it left; once Redis answers again, another worker takes the leftovers back after
    /// the lease and delivers every event.
    func testSIGTERMDuringARedisHangStopsWithinTheGracePeriod() async throws {
        let grace = 2.0
        let slow = try await receiver(.respond { _, _ in ReceiverResponse(status: 200, delay: 0.3) })
        let worker = try startWorker(["WEBHOOK_ADDRESS": slow.url, "WEBHOOK_SHUTDOWN_GRACE": "\(Int(grace))",
                                      "WEBHOOK_TIMEOUT": "2", "WEBHOOK_LEASE": "4", "WEBHOOK_CONCURRENCY": "8"])
        try push(200)
        _ = try await slow.waitForRequests(count: 20, timeout: 30)
        redis.pause()
        try await Task.sleep(nanoseconds: 500_000_000)
        let stopping = Date()
        worker.terminate()
        let status = await worker.exit(timeout: 60)
        let elapsed = Date().timeIntervalSince(stopping)
        redis.resume()
        XCTAssertEqual(status, 0, worker.log.suffix(3000).description)
        XCTAssertLessThan(elapsed, grace + 1.5 + 1, "stopped within WEBHOOK_SHUTDOWN_GRACE + 1.5 s; log:\n\(worker.log.suffix(3000))")
        XCTAssertTrue(worker.log.contains("stopped without finishing the hand-back"), worker.log.suffix(3000).description)

        let next = try startWorker(["WEBHOOK_ADDRESS": slow.url, "WEBHOOK_CONCURRENCY": "32", "WEBHOOK_TIMEOUT": "2",
                                    "WEBHOOK_LEASE": "4"])
        try await waitFor("every event delivered", timeout: 60, { Set(try usernames(slow.requests)).count }, until: { $0 == 200 })
        try await waitFor("nothing left", timeout: 30, {
            [try llen("queue"), try zcard("delayed"), try processingTotal(), try llen("dead")]
        }, until: { $0 == [0, 0, 0, 0] })
        await stop(next)
    }
}
