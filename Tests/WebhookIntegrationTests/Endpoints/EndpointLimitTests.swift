import Foundation
import TestSupport
import XCTest

/// Fleet-wide limits in front of an endpoint: a rate limit two workers share, and a circuit
/// breaker that holds deliveries (no tries spent) while an endpoint is down.
final class EndpointLimitTests: WorkerTestCase {
    func testTwoWorkersTogetherKeepAnEndpointAtItsRateWhileAnotherRunsFree() async throws {
        let limited = try await receiver(), free = try await receiver()
        let file = try endpointsFile("""
            endpoints:
              - name: limited
                url: \(limited.url)
                rate: 20/s
              - name: free
                url: \(free.url)
            """)
        let env = ["WEBHOOK_ENDPOINTS_FILE": file]
        let first = try startWorker(env), second = try startWorker(env)
        try push(100)
        _ = try await free.waitForRequests(count: 100, timeout: 30)
        let freeDone = free.requests.map(\.arrival).max() ?? 0
        let requests = try await limited.waitForRequests(count: 100, timeout: 60)
        let arrivals = requests.map(\.arrival).sorted()
        // No one-second window holds more than 20, with two of slack: the limit is kept on the
        // send times (Redis's slots, 50 ms apart) and these are arrival times, so an arrival
        // 100 ms late on a loaded machine opens a window that reaches two slots further. Two
        // workers each running at 20/s would show about 40.
        var busiest = 0
        for (index, start) in arrivals.enumerated() {
            busiest = max(busiest, arrivals[index...].prefix { $0 < start + 1 }.count)
        }
        XCTAssertLessThanOrEqual(busiest, 22, "busiest second: \(busiest)")
        let span = (arrivals.last ?? 0) - (arrivals.first ?? 0)
        XCTAssertGreaterThanOrEqual(span, 99.0 / 20 * 0.9, "100 requests at 20/s take about 5 s, took \(span)")
        XCTAssertLessThan(freeDone - (arrivals.first ?? 0), span, "the unlimited endpoint ran at full speed")
        XCTAssertEqual(try llen("dead"), 0, "waiting for the limit spends no try")
        XCTAssertEqual(Set(try usernames(requests)).count, 100)
        stopCleanly(first)
        stopCleanly(second)
    }

    func testADownEndpointIsHeldAndProbedNotDeadLetteredAndGetsEverythingBack() async throws {
        let down = try await receiver(.status(503)), healthy = try await receiver()
        let file = try endpointsFile("""
            endpoints:
              - name: flaky
                url: \(down.url)
              - name: healthy
                url: \(healthy.url)
            """)
        let worker = try startWorker(["WEBHOOK_ENDPOINTS_FILE": file, "WEBHOOK_BREAKER_FAILURES": "5",
                                      "WEBHOOK_BREAKER_PROBE": "2", "RECURRENT_NOTIFICATIONS_TIMEOUT": "1",
                                      "NUMBER_OF_RECURRENT_NOTIFICATIONS": "3"])
        let outageStart = Date()
        try push(200)
        _ = try await healthy.waitForRequests(count: 200, timeout: 15)
        XCTAssertLessThan(Date().timeIntervalSince(outageStart), 15, "the healthy endpoint got all 200 during the outage")
        let opened = try await eventuallyAsync(timeout: 15) { worker.log.contains("endpoint opened") }
        XCTAssertTrue(opened, worker.log.split(separator: "\n").filter { !$0.contains("configuration=") }.suffix(30).joined(separator: "\n"))
        let state = try cli(["endpoints"], ["WEBHOOK_ENDPOINTS_FILE": file]).output
        XCTAssertTrue(state.contains("state: open since"), state)
        // The rest of the 15 s outage: only probes reach the endpoint.
        let before = down.count
        let remaining = 15 - Date().timeIntervalSince(outageStart)
        if remaining > 0 { try await Task.sleep(nanoseconds: UInt64(remaining * 1e9)) }
        let probes = down.count - before
        XCTAssertLessThanOrEqual(probes, Int(remaining / 2) + 2, "one probe per 2 s, got \(probes) in \(remaining) s")
        XCTAssertEqual(try llen("dead"), 0, "held deliveries spend no try")
        let switchedAt = down.count
        down.setBehaviour(.status(200))
        let recovered = try await eventuallyAsync(timeout: 60) {
            let answered = down.requests.filter { $0.index >= switchedAt }
            return Set(try self.usernames(answered)).count == 200
        }
        XCTAssertTrue(recovered, "all 200 after recovery")
        XCTAssertTrue(worker.log.contains("endpoint closed"))
        XCTAssertEqual(try llen("dead"), 0)
        let drained = try await eventuallyAsync(timeout: 30) { try self.processingTotal() == 0 && self.zcard("delayed") == 0 }
        XCTAssertTrue(drained)
        stopCleanly(worker)
    }

    func testPauseHoldsAndResumeReleases() async throws {
        let sink = try await receiver()
        let file = try endpointsFile("""
            endpoints:
              - name: maintained
                url: \(sink.url)
            """)
        let worker = try startWorker(["WEBHOOK_ENDPOINTS_FILE": file, "WEBHOOK_BREAKER_PROBE": "1"])
        let paused = try cli(["endpoints", "pause", "maintained"], ["WEBHOOK_ENDPOINTS_FILE": file])
        XCTAssertEqual(paused.status, 0, paused.output)
        XCTAssertTrue(paused.output.contains("paused maintained"), paused.output)
        try await Task.sleep(nanoseconds: 1_500_000_000)  // the worker's cached gate expires
        try push(10)
        try await Task.sleep(nanoseconds: 3_000_000_000)
        XCTAssertEqual(sink.count, 0, "paused: held")
        XCTAssertTrue(try cli(["endpoints"], ["WEBHOOK_ENDPOINTS_FILE": file]).output.contains("paused"))
        XCTAssertTrue(try cli(["endpoints", "resume", "maintained"], ["WEBHOOK_ENDPOINTS_FILE": file]).output.contains("resumed maintained"))
        _ = try await sink.waitForRequests(count: 10, timeout: 30)
        XCTAssertEqual(try llen("dead"), 0)
        stopCleanly(worker)
    }
}
