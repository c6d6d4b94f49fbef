import Foundation
import TestSupport
import WebhookCore
import WebhookRedis
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
        await stop(first)
        await stop(second)
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
        let state = try await command(["endpoints"], ["WEBHOOK_ENDPOINTS_FILE": file]).stdout
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
        await stop(worker)
    }

    func testPauseHoldsAndResumeReleases() async throws {
        let sink = try await receiver()
        let file = try endpointsFile("""
            endpoints:
              - name: maintained
                url: \(sink.url)
            """)
        let worker = try startWorker(["WEBHOOK_ENDPOINTS_FILE": file, "WEBHOOK_BREAKER_PROBE": "1"])
        let paused = try await command(["endpoints", "pause", "maintained"], ["WEBHOOK_ENDPOINTS_FILE": file])
        XCTAssertEqual(paused.status, 0, paused.stderr)
        XCTAssertTrue(paused.stdout.contains("paused maintained"), paused.stdout)
        try await Task.sleep(nanoseconds: 1_500_000_000)  // the worker's cached gate expires
        try push(10)
        try await Task.sleep(nanoseconds: 3_000_000_000)
        XCTAssertEqual(sink.count, 0, "paused: held")
        let listing = try await command(["endpoints"], ["WEBHOOK_ENDPOINTS_FILE": file])
        XCTAssertTrue(listing.stdout.contains("paused"), listing.stdout)
        let resumed = try await command(["endpoints", "resume", "maintained"], ["WEBHOOK_ENDPOINTS_FILE": file])
        XCTAssertTrue(resumed.stdout.contains("resumed maintained"), resumed.stdout + resumed.stderr)
        _ = try await sink.waitForRequests(count: 10, timeout: 30)
        XCTAssertEqual(try llen("dead"), 0)
        await stop(worker)
    }

    /// WEBHOOK_BREAKER_MAX_HOLD bounds how long an open breaker may hold a delivery: a hold that
    /// would pass it makes the delivery a dead letter saying so, without a try (with the default
    /// 72 h the same deliveries would wait for the probe, 30 s away here).
    func testADeliveryHeldByAnOpenBreakerLongerThanMaxHoldBecomesADeadLetter() async throws {
        let down = try await receiver(.status(503))
        let file = try endpointsFile("""
            endpoints:
              - name: flaky
                url: \(down.url)
            """)
        let worker = try startWorker(["WEBHOOK_ENDPOINTS_FILE": file, "WEBHOOK_BREAKER_FAILURES": "2",
                                      "WEBHOOK_BREAKER_PROBE": "30", "WEBHOOK_BREAKER_MAX_HOLD": "2",
                                      "RECURRENT_NOTIFICATIONS_TIMEOUT": "1", "NUMBER_OF_RECURRENT_NOTIFICATIONS": "5"])
        try push(2)
        try await waitFor("the breaker opened", { worker.log.contains("endpoint opened") }, until: { $0 })
        // Events that arrive while it is open.
        let now = Date().timeIntervalSince1970
        try producer().enqueue(try (0..<3).map { try EventProducer.event(action: "user_created", username: "held-\($0)", now: now) })
        try await waitFor("5 dead letters", timeout: 20, { try self.llen("dead") }, until: { $0 == 5 })
        let letters = try redis.cli.lines(["LRANGE", "\(prefix):dead", "0", "-1"]).map { try DeadLetter(decoding: Array($0.utf8)) }
        for letter in letters {
            XCTAssertTrue(letter.reason.hasPrefix("held for more than 2 s"), letter.reason)
            XCTAssertTrue(letter.reason.contains("endpoint flaky is open"), letter.reason)
        }
        let users = try letters.map { letter in
            try XCTUnwrap(JSONSerialization.jsonObject(with: Data(letter.payload)) as? [String: Any])["username"] as? String
        }
        XCTAssertEqual(Set(users), ["user-0", "user-1", "held-0", "held-1", "held-2"])
        let reached = try usernames(down.requests)
        XCTAssertFalse(reached.contains { $0.hasPrefix("held-") }, "held deliveries spent no try: \(reached)")
        await stop(worker)
    }

    /// `notify: [other]`: when an endpoint's breaker opens and when it closes, the named endpoint
    /// gets an `endpoint_opened` / `endpoint_closed` event (and nothing else, with `actions: []`).
    func testNotifyAnnouncesTheBreakerOpeningAndClosingToTheNamedEndpoint() async throws {
        let down = try await receiver(.status(503)), ops = try await receiver()
        let file = try endpointsFile("""
            endpoints:
              - name: flaky
                url: \(down.url)
                notify: [ops]
              - name: ops
                url: \(ops.url)
                actions: []
            """)
        let worker = try startWorker(["WEBHOOK_ENDPOINTS_FILE": file, "WEBHOOK_BREAKER_FAILURES": "2",
                                      "WEBHOOK_BREAKER_PROBE": "1", "RECURRENT_NOTIFICATIONS_TIMEOUT": "1",
                                      "NUMBER_OF_RECURRENT_NOTIFICATIONS": "10"])
        try push(2)
        let opened = try await ops.waitForRequests(count: 1, timeout: 20)
        XCTAssertEqual(try json(opened[0])["action"] as? String, "endpoint_opened", opened[0].text)
        XCTAssertEqual(try json(opened[0])["endpoint"] as? String, "flaky", opened[0].text)
        XCTAssertEqual(try json(opened[0])["last_error"] as? String, "HTTP 503", opened[0].text)
        let switched = down.count
        down.setBehaviour(.status(200))
        let both = try await ops.waitForRequests(count: 2, timeout: 20)
        XCTAssertEqual(try json(both[1])["action"] as? String, "endpoint_closed", both[1].text)
        XCTAssertEqual(try json(both[1])["endpoint"] as? String, "flaky", both[1].text)
        // The held deliveries go out after the close; ops gets no user event and no repeat.
        try await waitFor("both events delivered to flaky", {
            Set(try self.usernames(down.requests.filter { $0.index >= switched }))
        }, until: { $0 == ["user-0", "user-1"] })
        XCTAssertEqual(ops.count, 2, ops.requests.map(\.text).joined(separator: "\n"))
        await stop(worker)
    }
}
