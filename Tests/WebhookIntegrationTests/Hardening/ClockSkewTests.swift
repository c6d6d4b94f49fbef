import Foundation
import TestSupport
import XCTest

/// Leases and due times are Redis's clock: a worker whose clock runs 90 s ahead (libfaketime)
/// neither reaps live peers nor strands anything when it dies.
final class ClockSkewTests: WorkerTestCase {
    private static let libfaketime = ["/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1",
                                      "/usr/lib/aarch64-linux-gnu/faketime/libfaketime.so.1",
                                      "/usr/lib/faketime/libfaketime.so.1"]
        .first { FileManager.default.fileExists(atPath: $0) }

    func testAWorker90SecondsAheadCausesNoChurnAndStrandsNothing() async throws {
        let library = try XCTUnwrap(Self.libfaketime, "libfaketime is missing (Debian package faketime)")
        let slow = try await receiver(.respond { _, _ in ReceiverResponse(status: 200, delay: 0.02) })
        let env = ["WEBHOOK_ADDRESS": slow.url, "WEBHOOK_TIMEOUT": "2", "WEBHOOK_LEASE": "6", "WEBHOOK_CONCURRENCY": "4"]
        let normal = try startWorker(env.merging(["WEBHOOK_WORKER_ID": "normal"]) { $1 })
        let ahead = try startWorker(env.merging([
            "WEBHOOK_WORKER_ID": "ahead", "LD_PRELOAD": library, "FAKETIME": "+90s",
            "FAKETIME_DONT_FAKE_MONOTONIC": "1",
        ]) { $1 })
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

        // Kill the skewed worker while it holds events: the other requeues them, nothing stays.
        slow.setBehaviour(.respond { _, _ in ReceiverResponse(status: 200, delay: 0.5) })
        try push(200)
        let holding = try await eventuallyAsync(timeout: 30) { try self.llen("processing:ahead") > 0 }
        XCTAssertTrue(holding)
        ahead.kill()
        slow.setBehaviour(.status(200))
        let drained = try await eventuallyAsync(timeout: 60) { try self.processingTotal() == 0 && self.llen("queue") == 0 }
        XCTAssertTrue(drained, "nothing stays in any processing list\n\(normal.log.suffix(3000))")
        let delivered = try await eventuallyAsync(timeout: 60) { Set(try self.usernames(slow.requests)).count == 1500 }
        XCTAssertTrue(delivered)
        XCTAssertTrue(normal.log.contains("lease expired"), "the killed worker's items were reaped")
        stopCleanly(normal)
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
