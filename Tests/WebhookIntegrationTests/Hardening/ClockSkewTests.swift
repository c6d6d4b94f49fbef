import Foundation
import Glibc
import TestSupport
import XCTest

/// Leases and due times are Redis's clock: a worker whose clock runs 90 s ahead (libfaketime)
/// neither reaps live peers nor strands anything when it dies.
final class ClockSkewTests: WorkerTestCase {
    func testAWorker90SecondsAheadCausesNoChurnAndStrandsNothing() async throws {
        XCTAssertTrue(FileManager.default.isExecutableFile(atPath: "/usr/bin/faketime"), "faketime is missing (Debian package faketime)")
        let slow = try await receiver(.respond { _, _ in ReceiverResponse(status: 200, delay: 0.02) })
        let env = ["WEBHOOK_ADDRESS": slow.url, "WEBHOOK_TIMEOUT": "2", "WEBHOOK_LEASE": "6", "WEBHOOK_CONCURRENCY": "4"]
        let normal = try startWorker(env.merging(["WEBHOOK_WORKER_ID": "normal"]) { $1 })
        // libfaketime through its own launcher (an LD_PRELOAD set by hand loses the arguments of a
        // Swift executable); monotonic time stays real, as an NTP-skewed machine's would.
        let ahead = try WorkerProcess(["run"], environment: environment(env.merging([
            "WEBHOOK_WORKER_ID": "ahead", "FAKETIME_DONT_FAKE_MONOTONIC": "1"]) { $1 }),
            launcher: ["faketime", "-f", "+90s"])
        defer { if ahead.isRunning { ahead.kill() } }
        try push(1500)
        // The fault is real: the second worker's log clock is ~90 s ahead.
        let skewed = try await eventuallyAsync(timeout: 20) { Self.firstLogTime(ahead.log) != nil && Self.firstLogTime(normal.log) != nil }
        XCTAssertTrue(skewed)
        if let a = Self.firstLogTime(ahead.log), let n = Self.firstLogTime(normal.log) {
            XCTAssertGreaterThan(a.timeIntervalSince(n), 60, "libfaketime did not skew the clock")
        }
        _ = try await slow.waitForRequests(count: 1500, timeout: 120)
        try await Task.sleep(nanoseconds: 6_000_000_000)  // more than a lease: churn would show by now
        for worker in [normal, ahead] {
            XCTAssertFalse(worker.log.contains("lease expired"), "no live worker was reaped:\n\(worker.log.suffix(3000))")
        }
        XCTAssertEqual(slow.count, 1500, "no duplicates from reaping live workers")

        // The skewed worker alone takes the next events and is killed while it holds them; a worker
        // on the real clock requeues them (90 s of skew do not hide an expired lease either).
        await stop(normal)
        slow.setBehaviour(.respond { _, _ in ReceiverResponse(status: 200, delay: 0.5) })
        try push(200)
        let holding = try await eventuallyAsync(timeout: 30) { try self.llen("processing:ahead") > 0 }
        XCTAssertTrue(holding, ahead.log.suffix(2000).description)
        // faketime runs the worker as its child: kill -9 the worker itself, then the launcher.
        let children = try String(contentsOfFile: "/proc/\(ahead.process.processIdentifier)/task/\(ahead.process.processIdentifier)/children",
                                  encoding: .utf8).split(separator: " ").compactMap { Int32($0) }
        XCTAssertFalse(children.isEmpty, "the worker runs under faketime")
        for child in children { Glibc.kill(child, SIGKILL) }
        ahead.kill()
        slow.setBehaviour(.status(200))
        let rescuer = try startWorker(env.merging(["WEBHOOK_WORKER_ID": "rescuer"]) { $1 })
        let drained = try await eventuallyAsync(timeout: 60) { try self.processingTotal() == 0 && self.llen("queue") == 0 }
        XCTAssertTrue(drained, "nothing stays in any processing list\n\(rescuer.log.suffix(3000))")
        let delivered = try await eventuallyAsync(timeout: 60) { slow.count >= 1700 }  // the second 200 too (names repeat)
        XCTAssertTrue(delivered)
        XCTAssertTrue(rescuer.log.contains("lease expired"), "the killed worker's items were reaped:\n\(rescuer.log.suffix(3000))")
        await stop(rescuer)
    }

    /// The timestamp of the first log line (swift-log: `2026-11-29T16:51:42+0000 ...`).
    static func firstLogTime(_ log: String) -> Date? {
        guard let line = log.split(separator: "\n").first(where: { $0.count > 24 && $0.hasPrefix("20") }) else { return nil }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.dateFormat = "yyyy-MM-dd'T'HH:mm:ssZ"
        return formatter.date(from: String(line.prefix(24)))
    }
}
