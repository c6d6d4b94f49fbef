import Foundation
import TestSupport
import XCTest

/// What a worker holds is bounded by bytes as well as count, and a Redis out of memory
/// (`noeviction`) pauses taking instead of growing the processing list.
final class MemoryAndOOMTests: WorkerTestCase {
    func testLargeEventsToAHungEndpointStayWithinTheByteBudget() async throws {
        let hung = try await receiver(.hang)
        let producer = try producer()
        let padding = String(repeating: "x", count: 900_000)
        for index in 0..<300 {
            try producer.enqueue([Array(#"{"action":"user_updated","username":"big-\#(index)","pad":"\#(padding)"}"#.utf8)])
        }
        let worker = try startWorker(["WEBHOOK_ADDRESS": hung.url])  // defaults: 64 MiB budget, 10 s timeout
        let pid = worker.process.processIdentifier
        var peak = 0
        // 15 s of watching, and longer until the first request arrives: on a loaded machine
        // (parallel tests, a build) 270 MB through Redis and the first 900 KB bodies can take
        // longer than that, and a peak read before the worker sent anything proves nothing.
        let watched = Date().addingTimeInterval(15)
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline, Date() < watched || hung.count == 0 {
            peak = max(peak, Self.kilobytes("VmHWM", pid: pid) ?? 0)
            try await Task.sleep(nanoseconds: 200_000_000)
        }
        XCTAssertGreaterThan(hung.count, 0, "the worker took and sent some; its log:\n\(worker.log.suffix(4000))")
        XCTAssertLessThan(peak, 256 * 1024, "peak RSS \(peak) KiB")
        XCTAssertLessThan(try processingTotal(), 300, "the budget stopped the take")
        XCTAssertTrue(worker.isRunning)
        print("peak RSS with 300 x 900 KB events to a hung endpoint: \(peak / 1024) MiB")
    }

    func testRedisOutOfMemoryPausesTakingAndResumesByItself() async throws {
        // Every attempt fails while Redis is out of memory, so every settle must write a retry:
        // the writes `noeviction` refuses (a settle without outcomes would still succeed).
        let flaky = try await receiver(.respond { _, _ in ReceiverResponse(status: 500, delay: 0.02) })
        let worker = try startWorker(["WEBHOOK_ADDRESS": flaky.url, "WEBHOOK_MAX_INFLIGHT": "50", "WEBHOOK_BATCH_SIZE": "10",
                                      "WEBHOOK_CONCURRENCY": "4", "NUMBER_OF_RECURRENT_NOTIFICATIONS": "1000",
                                      "RECURRENT_NOTIFICATIONS_TIMEOUT": "1"])
        try push(2000)
        _ = try await flaky.waitForRequests(count: 50, timeout: 30)
        XCTAssertEqual(try redisCLI(["CONFIG", "SET", "maxmemory", "1"]).trimmingCharacters(in: .whitespacesAndNewlines), "OK")
        var largest = 0
        for _ in 0..<40 {  // 6 s under OOM
            largest = max(largest, try processingTotal())
            try await Task.sleep(nanoseconds: 150_000_000)
        }
        XCTAssertLessThanOrEqual(largest, 50, "the processing list stays within WEBHOOK_MAX_INFLIGHT")
        XCTAssertTrue(worker.log.contains("OOM"), "Redis's message is logged:\n\(worker.log.suffix(3000))")
        // Each reason for pausing (outcomes, heartbeats) is logged once, not once per retry.
        let pauses = worker.log.components(separatedBy: "taking paused:").count - 1
        XCTAssertTrue((1...2).contains(pauses), "the state change is logged once per reason, got \(pauses)")
        flaky.setBehaviour(.status(200))
        _ = try redisCLI(["CONFIG", "SET", "maxmemory", "0"])
        let all = try await eventuallyAsync(timeout: 90) { try self.llen("queue") == 0 && self.zcard("delayed") == 0 && self.processingTotal() == 0 }
        XCTAssertTrue(all, "resumed by itself and drained")
        XCTAssertEqual(Set(try usernames(flaky.requests)).count, 2000, "every event attempted")
        XCTAssertTrue(worker.log.contains("taking resumed"))
        XCTAssertEqual(try llen("dead"), 0)
        await stop(worker)
    }

    static func kilobytes(_ field: String, pid: Int32) -> Int? {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return nil }
        for line in status.split(separator: "\n") where line.hasPrefix(field + ":") {
            return Int(line.split(separator: " ").dropFirst().first { Int($0) != nil } ?? "")
        }
        return nil
    }
}
