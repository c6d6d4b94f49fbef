import Foundation
import TestSupport
import XCTest

/// A hung endpoint's backlog must not fill the worker's in-flight room, and parking its
/// deliveries spends none of their tries.
final class BacklogIsolationTests: WorkerTestCase {
    func testAHungEndpointsBacklogDoesNotThrottleTheOthersAndParkingSpendsNoTry() async throws {
        let hung = try await receiver(.hang), healthy = try await receiver()
        let worker = try startWorker([
            "WEBHOOK_ADDRESS": "\(hung.url),\(healthy.url)", "WEBHOOK_TIMEOUT": "5",
            "WEBHOOK_MAX_INFLIGHT": "200", "RECURRENT_NOTIFICATIONS_TIMEOUT": "600",
            "JOB_SEND_NOTIFICATIONS_INTERVAL": "5",
        ])
        // 2,000 events, ten times the in-flight room: the hung endpoint alone could take about
        // 200 s to time out on them, 48 at a time.
        try push(2000)
        _ = try await healthy.waitForRequests(count: 2000, timeout: 90)
        XCTAssertEqual(Set(try usernames(healthy.requests)).count, 2000)

        // The endpoint recovers: parked deliveries come back from the delayed set. Each attempt
        // must carry as `tries` the number of earlier attempts of that event at this endpoint
        // (timed-out ones count, parking does not), so a never-sent delivery arrives with 0.
        let recoveredFrom = hung.count
        hung.setBehaviour(.status(200))
        let neverSent = 2000 - Set(try usernames(Array(hung.requests.prefix(recoveredFrom)))).count
        XCTAssertGreaterThan(neverSent, 0, "some deliveries were parked instead of sent")
        try await waitFor("\(neverSent) parked deliveries arriving after the recovery", timeout: 120,
                          { hung.count - recoveredFrom }, until: { $0 >= neverSent })
        let recovered = hung.requests
        var attempts: [String: Int] = [:]
        var mismatches: [String] = []
        for request in recovered {
            let body = try json(request)
            let user = try XCTUnwrap(body["username"] as? String)
            let tries = try XCTUnwrap(body["tries"] as? Int)
            if tries != attempts[user, default: 0] {
                mismatches.append("\(user): tries \(tries) after \(attempts[user, default: 0]) attempts")
            }
            attempts[user, default: 0] += 1
        }
        XCTAssertEqual(mismatches.count, 0, "first mismatches: \(mismatches.prefix(5))")
        XCTAssertEqual(try llen("dead"), 0)
        await stop(worker)
        XCTAssertEqual(try processingTotal(), 0)
    }

    /// A burst taken before any endpoint answered has nobody to lag behind, so all of it queues
    /// for the hung endpoint too. Once the healthy one answers, the hung one's queued requests
    /// must be withdrawn and parked: left queued, they held their events, and so the whole
    /// in-flight room, until the hung requests ahead of them timed out.
    func testABurstTakenBeforeAnyAnswerDoesNotLeaveAHungEndpointHoldingTheRoom() async throws {
        let hung = try await receiver(.hang), healthy = try await receiver()
        try push(4)  // before the worker starts: one take, admitted before any answer
        let worker = try startWorker([
            "WEBHOOK_ADDRESS": "\(hung.url),\(healthy.url)", "WEBHOOK_TIMEOUT": "60",
            "WEBHOOK_MAX_INFLIGHT": "4", "WEBHOOK_ENDPOINT_CONCURRENCY": "1", "WEBHOOK_SHUTDOWN_GRACE": "1",
        ])
        _ = try await healthy.waitForRequests(count: 4, timeout: 10)
        try push(8)
        _ = try await healthy.waitForRequests(count: 12, timeout: 10)
        XCTAssertEqual(hung.count, 1, "one request on the hung endpoint's wire, the rest parked")
        await stop(worker)
    }

    /// The laggard rule compares an endpoint with the others that are taking deliveries: one
    /// whose `actions:` never match takes none, so it must not make a healthy endpoint's burst
    /// look like a lag (each deferral costs that delivery a whole poll interval).
    func testAnEndpointWhoseActionsNeverMatchDoesNotHoldBackAHealthyOne() async throws {
        let healthy = try await receiver(), filtered = try await receiver()
        let file = try endpointsFile("""
            endpoints:
              - name: a
                url: \(healthy.url)
              - name: filtered
                url: \(filtered.url)
                actions: [never_sent]
            """)
        let interval = 8.0
        let worker = try startWorker(["WEBHOOK_ENDPOINTS_FILE": file, "JOB_SEND_NOTIFICATIONS_INTERVAL": "\(Int(interval))"])
        try await waitUntilRegistered()
        try push(2000)
        let requests = try await healthy.waitForRequests(count: 2000, timeout: 60)
        var slowest = 0.0
        for request in requests {
            let enqueued = try XCTUnwrap(json(request)["enqueued_at"] as? Double)
            slowest = max(slowest, request.arrival - enqueued)
        }
        XCTAssertLessThan(slowest, interval, "an event waited a poll interval: it was deferred")
        XCTAssertEqual(Set(try usernames(requests)).count, 2000)
        XCTAssertEqual(filtered.count, 0)
        XCTAssertEqual(try zcard("delayed"), 0)
        await stop(worker)
    }
}
