import Foundation
import Logging
import TestSupport
@testable import WebhookCore
import WebhookQueue
import WebhookRedis
@testable import WebhookWorker
import XCTest

/// The endpoint guard against a real redis-server that hangs or goes away: what it does with
/// attempts and outcomes when Redis cannot answer.
final class EndpointGuardTests: XCTestCase {
    private let event = #"{"action":"user_created","username":"alice","enqueued_at":1.5}"#

    private func configuration(_ file: String, _ extra: [String: String] = [:]) throws -> Configuration {
        var variables = ["WEBHOOK_ENDPOINTS_FILE": "endpoints.yaml"]
        variables.merge(extra) { $1 }
        return try Configuration.load(variables, readFile: { _ in file })
    }

    /// A guard on `server` for one endpoint, `name`, whose breaker opens after three failures.
    private func breakerGuard(_ name: String, on server: RedisServer) throws -> (target: Target, guardian: EndpointGuard) {
        let configuration = try configuration("""
            endpoints:
              - name: \(name)
                url: http://127.0.0.1:9/\(name)
            """, ["WEBHOOK_BREAKER_FAILURES": "3"])
        let target = try XCTUnwrap(configuration.targets.first)
        let guardian = EndpointGuard(state: EndpointState(url: server.url, prefix: "t", readTimeout: 1),
                                     configuration: configuration, workerID: "w1", logger: Logger(label: "test"))
        return (target, guardian)
    }

    private func attempts(_ count: Int, to targets: [Target]) throws -> [DeliveryLedger.Attempt] {
        let parsed = try Event.parse(Array(event.utf8), maxBytes: 1 << 20, now: 1)
        return (0..<count).flatMap { index in
            targets.map { DeliveryLedger.Attempt(eventID: UInt64(index), target: $0, tries: 0, webhookID: "msg_\(index)", event: parsed) }
        }
    }

    /// Attempts that go straight out are handed on in their order, whether the whole batch goes
    /// (passed on as it came) or one in the middle waits for a rate-limit slot (the ones before
    /// it are not lost, the ones after it follow them).
    func testAttemptsThatPassKeepTheirOrderAroundOneThatWaits() throws {
        let server = try RedisServer()
        defer { server.stop() }
        let configuration = try configuration("""
            endpoints:
              - name: plain
                url: http://127.0.0.1:9/plain
              - name: limited
                url: http://127.0.0.1:9/limited
                rate: 5/s
            """)
        let guardian = EndpointGuard(state: EndpointState(url: server.url, prefix: "t", readTimeout: 1),
                                     configuration: configuration, workerID: "w1", logger: Logger(label: "test"))
        let plain = configuration.targets[0], limited = configuration.targets[1]
        let parsed = try Event.parse(Array(event.utf8), maxBytes: 1 << 20, now: 1)
        func attempt(_ id: UInt64, _ target: Target) -> DeliveryLedger.Attempt {
            DeliveryLedger.Attempt(eventID: id, target: target, tries: 0, webhookID: "msg_\(id)", event: parsed)
        }
        let whole = guardian.admit([attempt(1, plain), attempt(2, plain), attempt(3, plain)])
        XCTAssertEqual(whole.send.map(\.eventID), [1, 2, 3])
        let mixed = guardian.admit([attempt(4, plain), attempt(5, plain), attempt(6, limited), attempt(7, plain)])
        XCTAssertEqual(mixed.send.map(\.eventID), [4, 5, 7], "the attempts before the one that waits, then those after it")
        XCTAssertEqual(mixed.paced.flatMap(\.attempts).map(\.eventID) + mixed.wait.map(\.attempt.eventID), [6])
    }

    /// With Redis hung, a batch of attempts to rate-limited endpoints costs the dispatcher one
    /// read timeout, not one per attempt: after the first timeout the guard asks Redis nothing
    /// until it answers again, and the attempts wait (a limit is never exceeded on a guess).
    func testAHungRedisCostsOneTimeoutNotOnePerAttempt() throws {
        let server = try RedisServer()
        defer { server.resume(); server.stop() }
        let configuration = try configuration("""
            endpoints:
              - name: one
                url: http://127.0.0.1:9/one
                rate: 5/s
              - name: two
                url: http://127.0.0.1:9/two
                rate: 5/s
            """)
        let timeout = 0.5
        let guardian = EndpointGuard(state: EndpointState(url: server.url, prefix: "t", readTimeout: timeout),
                                     configuration: configuration, workerID: "w1", logger: Logger(label: "test"))
        // Connected and answering first: the gates are read and cached.
        _ = guardian.admit(try attempts(1, to: configuration.targets))
        server.pause()
        let batch = try attempts(6, to: configuration.targets)
        let started = Date()
        let decided = guardian.admit(batch)
        let took = Date().timeIntervalSince(started)
        XCTAssertLessThan(took, 3 * timeout, "\(batch.count) attempts took \(took) s against a hung Redis")
        XCTAssertTrue(decided.send.isEmpty, "rate-limited attempts wait while the limit cannot be read")
        XCTAssertEqual(decided.wait.count, batch.count)
        let again = Date()
        _ = guardian.admit(try attempts(3, to: configuration.targets))
        XCTAssertLessThan(Date().timeIntervalSince(again), timeout, "no call to a Redis that did not answer")
        server.resume()
        let probe = try attempts(1, to: [configuration.targets[0]])
        let recovered = eventually(timeout: 10, interval: 0.1) { !guardian.admit(probe).paced.isEmpty }
        XCTAssertTrue(recovered, "the limit is read again once Redis answers")
    }

    /// Outcomes counted while Redis could not take them are kept and written when it can: a
    /// Redis that comes and goes must not keep a failing endpoint's breaker from opening.
    func testOutcomesCountedWhileRedisIsDownStillOpenTheBreaker() throws {
        let server = try RedisServer()
        defer { server.stop() }
        let (target, guardian) = try breakerGuard("failing", on: server)
        server.stop()
        for _ in 0..<3 {
            guardian.note([DeliveryLedger.Note(kind: .retry, target: target, webhookID: "msg_x", status: 503, reason: nil,
                                                  cause: .answered)])
            Thread.sleep(forTimeInterval: 0.3)  // past the flush interval: each round tries to write
            guardian.flush()
        }
        try server.restart()
        let observer = EndpointState(url: server.url, prefix: "t")
        let opened = eventually(timeout: 10, interval: 0.1) {
            guardian.flush()
            if case .open = (try? observer.status(endpoint: "failing"))?.state { return true }
            return false
        }
        XCTAssertTrue(opened, "three failures counted while Redis was down open the breaker once it is back")
    }

    /// The breaker counts a request's answers and failures, told by the note's typed cause: a
    /// delivery held past WEBHOOK_BREAKER_MAX_HOLD is a dead letter that was never sent, so it
    /// says nothing about the endpoint, whatever its reason's text (it used to be told by the
    /// text prefix "held for").
    func testDeliveriesHeldTooLongDoNotOpenTheBreakerFailuresDo() throws {
        let server = try RedisServer()
        defer { server.stop() }
        let (target, guardian) = try breakerGuard("held", on: server)
        let observer = EndpointState(url: server.url, prefix: "t")
        func isOpen() throws -> Bool {
            if case .open = try observer.status(endpoint: "held").state { return true }
            return false
        }
        let heldTooLong = DeliveryLedger.Note(kind: .dead, target: target, webhookID: "msg_h", status: 0,
                                              reason: "endpoint held is paused", cause: .heldTooLong)
        guardian.note(Array(repeating: heldTooLong, count: 5))
        guardian.flush()
        XCTAssertFalse(try isOpen(), "five deliveries held too long are not five failures of the endpoint")
        let failed = DeliveryLedger.Note(kind: .retry, target: target, webhookID: "msg_f", status: 0, reason: nil,
                                         cause: .failed(.connect))
        guardian.note(Array(repeating: failed, count: 3))
        guardian.flush()  // the first write: nothing was written before, so no flush interval to wait
        XCTAssertTrue(try isOpen(), "three connection failures open it")
        XCTAssertEqual(try observer.status(endpoint: "held").lastError, "no answer (connect)")
    }

    /// Tallies that cannot be written are kept, but for at most `maxTallyKeys` breaker keys: a
    /// long outage with many destinations (routed endpoints) cannot grow memory without bound.
    /// Keys already kept still count; new ones past the bound are dropped and counted.
    func testUnwrittenTalliesAreBoundedByBreakerKeys() throws {
        let configuration = try configuration("""
            endpoints:
              - name: one
                url: http://127.0.0.1:9/one
            """)
        // No call is made: `note` only counts (the write is `flush`'s).
        let guardian = EndpointGuard(state: EndpointState(url: RedisURL(host: "127.0.0.1", port: 1), prefix: "t", readTimeout: 0.2),
                                     configuration: configuration, workerID: "w1", logger: Logger(label: "test"))
        func failure(_ target: Target) -> DeliveryLedger.Note {
            DeliveryLedger.Note(kind: .retry, target: target, webhookID: "msg_x", status: 503, reason: nil, cause: .answered)
        }
        let bound = EndpointGuard.maxTallyKeys
        let first = Target(kind: .webhook, url: "http://127.0.0.1:9/0")
        guardian.note((0..<bound).map { failure(Target(kind: .webhook, url: "http://127.0.0.1:9/\($0)")) })
        XCTAssertEqual(guardian.pendingTallyKeys, bound)
        guardian.note([failure(Target(kind: .webhook, url: "http://127.0.0.1:9/beyond")), failure(first)])
        XCTAssertEqual(guardian.pendingTallyKeys, bound, "a new key past the bound is not kept")
        XCTAssertEqual(guardian.droppedTallyTotal, 1, "only the new key's outcome was dropped; a kept key still counts")
    }
}
