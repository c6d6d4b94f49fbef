import Foundation
import TestSupport
import XCTest

/// At-least-once across `kill -9`, and the clean stop on SIGTERM/SIGINT.
final class CrashAndStopTests: WorkerTestCase {
    func testKill9WithThousandsInFlightThenASecondWorkerDeliversEveryOne() async throws {
        let slow = try await receiver(.respond { _, _ in ReceiverResponse(status: 200, delay: 0.05) })
        let env = ["WEBHOOK_ADDRESS": slow.url, "WEBHOOK_SECRET": "s",
                   "WEBHOOK_TIMEOUT": "2", "WEBHOOK_LEASE": "4", "WEBHOOK_MAX_INFLIGHT": "4096"]
        try push(3000)
        let first = try startWorker(env)
        _ = try await slow.waitForRequests(count: 100, timeout: 30)
        XCTAssertGreaterThan(try processingTotal(), 1000, "thousands in flight when killed")
        first.kill()
        let deliveredBeforeKill = slow.count
        XCTAssertLessThan(deliveredBeforeKill, 3000)

        let second = try startWorker(env)
        try await waitFor("3000 requests after the kill", timeout: 180, { slow.count }, until: { $0 >= 3000 })
        try await waitFor("every event delivered after the kill", timeout: 120, {
            Set(try usernames(slow.requests)).count
        }, until: { $0 == 3000 })
        try await waitFor("processing and queue empty", { [try processingTotal(), try llen("queue")] }, until: { $0 == [0, 0] })
        XCTAssertTrue(second.log.contains("requeued"), "the second worker reaped the first's holdings")
        // Redelivered events keep their webhook-id, so receivers can drop the duplicates.
        var idsByUser: [String: Set<String>] = [:]
        for request in slow.requests {
            idsByUser[try json(request)["username"] as! String, default: []].insert(request.header("webhook-id") ?? "")
        }
        XCTAssertTrue(idsByUser.values.allSatisfy { $0.count == 1 }, "one webhook-id per event and endpoint")
        await stop(second)
    }

    func testSIGTERMStopsTakingFinishesHandsBackAndExitsZero() async throws {
        let slow = try await receiver(.respond { _, _ in ReceiverResponse(status: 200, delay: 0.2) })
        let env = ["WEBHOOK_ADDRESS": slow.url, "WEBHOOK_CONCURRENCY": "8"]
        try push(1000)
        let worker = try startWorker(env)
        _ = try await slow.waitForRequests(count: 20, timeout: 30)
        let started = Date()
        worker.terminate()
        let status = await worker.exit(timeout: 20)
        XCTAssertEqual(status, 0, worker.log)
        XCTAssertLessThan(Date().timeIntervalSince(started), 15, "within the grace period plus a margin")
        XCTAssertEqual(try processingTotal(), 0, "the processing list is left empty")
        XCTAssertEqual(try zcard("workers"), 0, "deregistered")
        XCTAssertGreaterThan(try llen("queue"), 0, "what was not delivered went back to the queue")

        let next = try startWorker(env.merging(["WEBHOOK_CONCURRENCY": "64"]) { $1 })
        try await waitFor("1000 requests", timeout: 120, { slow.count }, until: { $0 >= 1000 })
        try await waitFor("every event delivered", timeout: 60, { Set(try usernames(slow.requests)).count }, until: { $0 == 1000 })
        await stop(next)
    }

    func testSIGINTAlsoStopsCleanly() async throws {
        let a = try await receiver()
        let worker = try startWorker(["WEBHOOK_ADDRESS": a.url])
        try push(10)
        _ = try await a.waitForRequests(count: 10, timeout: 30)
        worker.interrupt()
        let status = await worker.exit(timeout: 20)
        XCTAssertEqual(status, 0, worker.log)
        XCTAssertEqual(try processingTotal(), 0)
    }
}
