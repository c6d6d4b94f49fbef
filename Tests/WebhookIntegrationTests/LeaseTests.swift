import Foundation
import TestSupport
import XCTest

/// A live worker keeps its heartbeat while its requests outlast a heartbeat period (lease / 3):
/// another worker must not reap its processing list, so nothing is delivered twice.
final class LeaseTests: WorkerTestCase {
    func testSlowRequestsLongerThanAHeartbeatPeriodAreNotReaped() async throws {
        let events = 12
        // 2.5 s per request, a 2 s heartbeat period, a 6 s lease; 2 at a time, so one worker's
        // holdings take about 15 s: more than two leases.
        let slow = try await receiver(.respond { _, _ in ReceiverResponse(status: 200, delay: 2.5) })
        let env = ["WEBHOOK_ADDRESS": slow.url, "WEBHOOK_TIMEOUT": "4", "WEBHOOK_LEASE": "6",
                   "WEBHOOK_CONCURRENCY": "2", "WEBHOOK_ENDPOINT_CONCURRENCY": "2"]
        let first = try startWorker(env), second = try startWorker(env)
        try await waitUntilRegistered(2)
        try push(events)
        try await waitFor("\(events) deliveries", timeout: 120, { slow.count }, until: { $0 >= events })
        try await waitFor("queue and processing empty", { [try llen("queue"), try processingTotal()] },
                          until: { $0 == [0, 0] })
        let names = try usernames(slow.requests)
        XCTAssertEqual(names.count, events, "no event delivered twice: \(names.sorted())")
        XCTAssertEqual(Set(names).count, events)
        XCTAssertFalse(first.log.contains("requeued") || second.log.contains("requeued"),
                       "no live worker was reaped")
        XCTAssertEqual(try zcard("workers"), 2, "both still registered")
        await stop(first)
        await stop(second)
    }
}
