import Foundation
import TestSupport
import WebhookCore
import WebhookQueue
import WebhookRedis
import XCTest

/// The fleet-wide rate limit and circuit breaker against a real redis-server, with several
/// connections standing in for several workers. Key names are spelled out: they are the layout.
final class EndpointStateTests: XCTestCase {
    private let prefix = "{t}"

    // MARK: Rate limit

    func testTwoWorkersTogetherStayWithinTwentyPerSecondAndNearIt() throws {
        let server = try RedisServer()
        defer { server.stop() }
        let rate = try XCTUnwrap(RateLimit(parsing: "20/s"))
        let duration = 3.0
        let grants = Collected<Double>()
        let errors = Collected<String>()
        try twoWorkers(on: server, until: Date().addingTimeInterval(duration), errors: errors) { state, _ in
            switch try state.acquire(endpoint: "billing", rate: rate) {
            case .granted(let at):
                grants.append(at)
            case .wait(let seconds):
                if seconds <= 0 || seconds > rate.interval { errors.append("wait \(seconds)") }
                Thread.sleep(forTimeInterval: seconds)
            }
        }

        let times = grants.values.sorted()
        // No one-second window (half-open) holds more than 20 grants: grant i and grant i + 20
        // are always at least a second apart.
        for index in times.indices.dropLast(20) {
            XCTAssertGreaterThanOrEqual(times[index + 20] - times[index], 1.0 - 1e-6,
                                        "21 grants within \(times[index + 20] - times[index]) s from \(times[index])")
        }
        for (a, b) in zip(times, times.dropFirst()) {
            XCTAssertGreaterThanOrEqual(b - a, rate.interval - 1e-6)
        }
        // Close to the rate: 3 s at 20/s is 60 grants (61 counting both ends); allow for
        // wake-up latency on a busy machine.
        XCTAssertLessThanOrEqual(times.count, 61)
        XCTAssertGreaterThanOrEqual(times.count, 45, "only \(times.count) grants in \(duration) s")
        XCTAssertEqual(try server.redisCLI("EXISTS", "{t}:rate:billing"), "1")
        let ttl = try XCTUnwrap(Int(try server.redisCLI("PTTL", "{t}:rate:billing")))
        XCTAssertGreaterThan(ttl, 0, "the limiter's key expires when idle")
    }

    /// Two workers, each on its own thread with its own connection, run `step` (given its
    /// state and its number, 0 or 1) until `end`; what a step throws goes to `errors`, which must
    /// then be empty. Fails when the threads are not done 10 s after `end`.
    private func twoWorkers(on server: RedisServer, until end: Date, errors: Collected<String>,
                            _ step: @escaping @Sendable (EndpointState, Int) throws -> Void) throws {
        let prefix = self.prefix
        let done = DispatchGroup()
        for worker in 0..<2 {
            done.enter()
            Thread.detachNewThread {
                defer { done.leave() }
                let state = EndpointState(url: server.url, prefix: prefix)
                do {
                    while Date() < end { try step(state, worker) }
                } catch {
                    errors.append("\(error)")
                }
            }
        }
        XCTAssertEqual(done.wait(timeout: .now() + end.timeIntervalSinceNow + 10), .success)
        XCTAssertEqual(errors.values, [])
    }

    func testPerMinuteRateAndEndpointsAreIndependent() throws {
        let server = try RedisServer()
        defer { server.stop() }
        let state = EndpointState(url: server.url, prefix: prefix)
        let perMinute = try XCTUnwrap(RateLimit(parsing: "30/m"))
        XCTAssertTrue(try state.acquire(endpoint: "discord", rate: perMinute).isGranted)
        guard case .wait(let wait) = try state.acquire(endpoint: "discord", rate: perMinute) else {
            return XCTFail("a second request within 2 s of the first must wait")
        }
        XCTAssertGreaterThan(wait, 1.5)
        XCTAssertLessThanOrEqual(wait, 2.0)
        // Another endpoint has its own limit.
        XCTAssertTrue(try state.acquire(endpoint: "other", rate: perMinute).isGranted)
    }

    // MARK: Circuit breaker

    func testBreakerOpensAfterThresholdAndTheFirstSuccessClosesIt() throws {
        let server = try RedisServer()
        defer { server.stop() }
        let state = EndpointState(url: server.url, prefix: prefix)
        for index in 1...4 {
            let record = try state.record(endpoint: "billing", successes: 0, failures: 1, lastError: "HTTP 503", threshold: 5, probeInterval: 30)
            XCTAssertEqual(record, BreakerRecord(transition: .none, consecutiveFailures: index, openedAt: nil))
        }
        // A success in between starts the count again; failures after it count.
        XCTAssertEqual(try state.record(endpoint: "billing", successes: 1, failures: 3, failuresSinceSuccess: 2, threshold: 5, probeInterval: 30),
                       BreakerRecord(transition: .none, consecutiveFailures: 2, openedAt: nil))
        XCTAssertEqual(try state.gate(endpoint: "billing", probeInterval: 30, token: "w1"), .closed)
        _ = try state.record(endpoint: "billing", successes: 0, failures: 2, lastError: "HTTP 502", threshold: 5, probeInterval: 30)
        let opened = try state.record(endpoint: "billing", successes: 0, failures: 1, lastError: "connection refused", threshold: 5, probeInterval: 30)
        XCTAssertEqual(opened.transition, .opened)
        XCTAssertEqual(opened.consecutiveFailures, 5)
        let openedAt = try XCTUnwrap(opened.openedAt)
        XCTAssertEqual(openedAt, Date().timeIntervalSince1970, accuracy: 5)
        // Further failures keep it open without a second "opened".
        XCTAssertEqual(try state.record(endpoint: "billing", successes: 0, failures: 1, threshold: 5, probeInterval: 30).transition, .none)

        // Open: the first probe waits one interval after opening.
        guard case .hold(let left) = try state.gate(endpoint: "billing", probeInterval: 30, token: "w1") else {
            return XCTFail("an open breaker must hold")
        }
        XCTAssertGreaterThan(left, 25)
        XCTAssertLessThanOrEqual(left, 30)

        let status = try state.status(endpoint: "billing")
        XCTAssertEqual(status.state, .open(since: openedAt))
        XCTAssertEqual(status.stateName, "open")
        XCTAssertEqual(status.consecutiveFailures, 6)
        XCTAssertEqual(status.lastError, "connection refused")
        XCTAssertEqual(status.recentSuccesses, 1)
        XCTAssertEqual(status.recentFailures, 4 + 3 + 2 + 1 + 1)
        XCTAssertNotNil(status.lastSuccessAt)

        let closed = try state.record(endpoint: "billing", successes: 1, failures: 0, threshold: 5, probeInterval: 30)
        XCTAssertEqual(closed, BreakerRecord(transition: .closed, consecutiveFailures: 0, openedAt: nil))
        XCTAssertEqual(try state.gate(endpoint: "billing", probeInterval: 30, token: "w1"), .closed)
        XCTAssertEqual(try state.status(endpoint: "billing").state, .ok)
        XCTAssertEqual(try server.redisCLI("EXISTS", "{t}:probe:billing"), "0")
        XCTAssertEqual(try server.redisCLI("HGET", "{t}:breaker:billing", "last_error"), "connection refused")
    }

    func testExactlyOneProbePerIntervalAcrossTwoWorkers() throws {
        let server = try RedisServer()
        defer { server.stop() }
        let interval = 0.4
        let setup = EndpointState(url: server.url, prefix: prefix)
        XCTAssertEqual(try setup.record(endpoint: "down", successes: 0, failures: 3, threshold: 3, probeInterval: interval).transition, .opened)

        let probes = Collected<Date>()
        let holds = Collected<Double>()
        let errors = Collected<String>()
        let start = Date()
        let duration = 2.2
        try twoWorkers(on: server, until: start.addingTimeInterval(duration), errors: errors) { state, worker in
            switch try state.gate(endpoint: "down", probeInterval: interval, token: "w\(worker)") {
            case .probe:
                probes.append(Date())
                // The probe fails: the breaker stays open.
                let record = try state.record(endpoint: "down", successes: 0, failures: 1, lastError: "HTTP 500",
                                              threshold: 3, probeInterval: interval)
                if record.transition != .none { errors.append("probe failure gave \(record)") }
            case .hold(let left):
                if left > interval { errors.append("hold \(left)") }
                holds.append(left)
                Thread.sleep(forTimeInterval: 0.005)
            case .closed, .paused:
                errors.append("the breaker must stay open")
            }
        }
        // Slots open at 0.4, 0.8, ... 2.0 s after opening: five in 2.2 s (four if the machine is
        // slow to poll), each taken by exactly one of the two workers.
        let times = probes.values.sorted()
        XCTAssertTrue((4...5).contains(times.count), "probes at \(times.map { $0.timeIntervalSince(start) })")
        for (a, b) in zip(times, times.dropFirst()) {
            XCTAssertGreaterThan(b.timeIntervalSince(a), interval * 0.75)
        }
        XCTAssertGreaterThan(holds.values.count, 20, "both workers kept asking")

        // The next success, from either worker, closes it for both.
        let other = EndpointState(url: server.url, prefix: prefix)
        Thread.sleep(forTimeInterval: interval)
        XCTAssertEqual(try other.gate(endpoint: "down", probeInterval: interval, token: "w1"), .probe)
        XCTAssertEqual(try other.record(endpoint: "down", successes: 1, failures: 0, threshold: 3, probeInterval: interval).transition, .closed)
        XCTAssertEqual(try setup.gate(endpoint: "down", probeInterval: interval, token: "w0"), .closed)
    }

    func testPauseAndResume() throws {
        let server = try RedisServer()
        defer { server.stop() }
        let state = EndpointState(url: server.url, prefix: prefix)
        XCTAssertEqual(try state.status(endpoint: "never-seen").state, .ok)
        XCTAssertTrue(try state.pause(endpoint: "billing"))
        XCTAssertFalse(try state.pause(endpoint: "billing"), "already paused")
        XCTAssertEqual(try state.gate(endpoint: "billing", probeInterval: 1, token: "w"), .paused)
        let status = try state.status(endpoint: "billing")
        guard case .paused(let since) = status.state else { return XCTFail("\(status.state)") }
        XCTAssertEqual(since, status.readAt, accuracy: 5)
        XCTAssertTrue(try state.resume(endpoint: "billing"))
        XCTAssertFalse(try state.resume(endpoint: "billing"), "not paused any more")
        XCTAssertEqual(try state.gate(endpoint: "billing", probeInterval: 1, token: "w"), .closed)

        // Paused while open: held, and no probes, until resumed; then the breaker still decides.
        _ = try state.record(endpoint: "billing", successes: 0, failures: 2, threshold: 2, probeInterval: 0.05)
        XCTAssertTrue(try state.pause(endpoint: "billing"))
        Thread.sleep(forTimeInterval: 0.1)
        XCTAssertEqual(try state.gate(endpoint: "billing", probeInterval: 0.05, token: "w"), .paused)
        XCTAssertTrue(try state.resume(endpoint: "billing"))
        XCTAssertEqual(try state.gate(endpoint: "billing", probeInterval: 0.05, token: "w"), .probe)
    }

    func testScriptsSurviveAScriptCacheFlush() throws {
        let server = try RedisServer()
        defer { server.stop() }
        let state = EndpointState(url: server.url, prefix: prefix)
        XCTAssertEqual(try state.gate(endpoint: "a", probeInterval: 1, token: "w"), .closed)
        XCTAssertEqual(try server.redisCLI("SCRIPT", "FLUSH"), "OK")
        XCTAssertEqual(try state.gate(endpoint: "a", probeInterval: 1, token: "w"), .closed)
    }
}

/// Values appended from several threads.
private final class Collected<Value: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: [Value] = []

    func append(_ value: Value) {
        lock.lock()
        stored.append(value)
        lock.unlock()
    }

    var values: [Value] {
        lock.lock()
        defer { lock.unlock() }
        return stored
    }
}
