import Foundation
import TestSupport
import XCTest

/// Bad events become dead letters with a reason; a hung endpoint does not delay the others.
final class HostileInputAndIsolationTests: WorkerTestCase {
    func testHostileInputBecomesDeadLettersAndTheWorkerGoesOn() async throws {
        let a = try await receiver()
        let worker = try startWorker(["WEBHOOK_ADDRESS": a.url, "WEBHOOK_MAX_PAYLOAD_BYTES": "1000"])
        let big = #"{"username":"big","action":"user_created","pad":""# + String(repeating: "x", count: 2000) + #""}"#
        for bad in ["not json", "[1,2,3]", #"{"username":"nobody"}"#, big] {
            _ = try redisCLI(["LPUSH", "\(prefix):queue", bad])
        }
        // Invalid UTF-8 (a lone 0xff byte), sent raw through redis-cli's -x (value from stdin).
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["redis-cli", "-p", "\(redis.port)", "-x", "LPUSH", "\(prefix):queue"]
        let stdin = Pipe()
        process.standardInput = stdin
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        stdin.fileHandleForWriting.write(Data([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0x22, 0x7d]))
        try stdin.fileHandleForWriting.close()
        process.waitUntilExit()
        try push(1)

        _ = try await a.waitForRequests(count: 1, timeout: 30)
        XCTAssertTrue(try eventually(timeout: 20) { try llen("dead") == 5 }, worker.log)
        let reasons = try cli(["dead", "list", "--json"]).output.split(separator: "\n").compactMap {
            (try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])?["reason"] as? String
        }
        XCTAssertEqual(reasons.count, 5)
        let all = reasons.joined(separator: " | ").lowercased()
        for word in ["json", "object", "action", "utf-8", "large"] {
            XCTAssertTrue(all.contains(word), "a reason mentions '\(word)': \(all)")
        }
        XCTAssertTrue(worker.isRunning)
        XCTAssertTrue(worker.log.contains("malformed"), "a log line per bad event")
        XCTAssertEqual(a.count, 1, "only the valid event was delivered")
        stopCleanly(worker)
    }

    func testAHungEndpointDoesNotDelayTheOther() async throws {
        let hung = try await receiver(.hang), healthy = try await receiver()
        let worker = try startWorker([
            "WEBHOOK_ADDRESS": "\(hung.url),\(healthy.url)", "WEBHOOK_TIMEOUT": "5",
            "RECURRENT_NOTIFICATIONS_TIMEOUT": "600",
        ])
        XCTAssertTrue(try eventually(timeout: 20) { try zcard("workers") == 1 })
        let pushed = Date()
        try push(500)
        _ = try await healthy.waitForRequests(count: 500, timeout: 30)
        let elapsed = Date().timeIntervalSince(pushed)
        XCTAssertLessThan(elapsed, 10, "500 events reached the healthy endpoint within seconds")
        XCTAssertEqual(Set(try usernames(healthy.requests)).count, 500)
        // The hung endpoint's deliveries time out and are kept for retry, none lost.
        XCTAssertTrue(try eventually(timeout: 120) { try zcard("delayed") == 500 },
                      "delayed=\((try? zcard("delayed")) ?? -1)")
        XCTAssertEqual(try llen("dead"), 0)
        stopCleanly(worker)
    }
}

/// A hung endpoint's backlog must not fill the worker's in-flight room.
final class BacklogIsolationTests: WorkerTestCase {
    func testAHungEndpointsBacklogDoesNotThrottleTheOthers() async throws {
        let hung = try await receiver(.hang), healthy = try await receiver()
        let worker = try startWorker([
            "WEBHOOK_ADDRESS": "\(hung.url),\(healthy.url)", "WEBHOOK_TIMEOUT": "5",
            "WEBHOOK_MAX_INFLIGHT": "200", "RECURRENT_NOTIFICATIONS_TIMEOUT": "600",
            "JOB_SEND_NOTIFICATIONS_INTERVAL": "30",
        ])
        // 2,000 events, ten times the in-flight room: the hung endpoint alone could take about
        // 200 s to time out on them, 48 at a time.
        try push(2000)
        _ = try await healthy.waitForRequests(count: 2000, timeout: 60)
        XCTAssertEqual(Set(try usernames(healthy.requests)).count, 2000)
        // The hung endpoint's deliveries are parked for later, not lost and not counted as tries.
        XCTAssertTrue(try eventually(timeout: 30) { try zcard("delayed") > 1000 })
        XCTAssertEqual(try llen("dead"), 0)
        stopCleanly(worker)
        XCTAssertEqual(try processingTotal(), 0)
    }
}
