@testable import WebhookWorker
import XCTest

/// The reconnect backoff: 0.1 s · 2ⁿ, capped at 5 s, ±25 % jitter, back to the start on reset.
final class BackoffTests: XCTestCase {
    func testDoublesFromATenthOfASecondWithinTheJitter() {
        var backoff = Backoff()
        let bases = [0.1, 0.2, 0.4, 0.8, 1.6, 3.2, 5, 5, 5]
        for (attempt, base) in bases.enumerated() {
            let delay = backoff.next()
            XCTAssertGreaterThanOrEqual(delay, base * 0.75 - 1e-9, "attempt \(attempt)")
            XCTAssertLessThanOrEqual(delay, base * 1.25 + 1e-9, "attempt \(attempt)")
        }
        XCTAssertEqual(backoff.failures, bases.count)
    }

    func testNeverExceedsTheCapEvenAfterManyFailures() {
        var backoff = Backoff()
        let delays = (0..<200).map { _ in backoff.next() }
        XCTAssertTrue(delays.allSatisfy { $0.isFinite && $0 > 0 }, "\(delays)")
        let over = delays.enumerated().first { $0.element > 5 * 1.25 + 1e-9 }
        XCTAssertNil(over, "attempt \(over?.offset ?? -1) waited \(over?.element ?? 0) s, over the cap")
        let late = (0..<50).map { _ in backoff.next() }
        XCTAssertGreaterThanOrEqual(late.min() ?? 0, 5 * 0.75 - 1e-9, "stays at the cap")
    }

    func testResetStartsOver() {
        var backoff = Backoff()
        for _ in 0..<10 { _ = backoff.next() }
        backoff.reset()
        XCTAssertEqual(backoff.failures, 0)
        XCTAssertLessThanOrEqual(backoff.next(), 0.125 + 1e-9)
    }

    func testJitterSpreadsDelays() {
        // 1000 first delays, uniform in 0.075 ... 0.125: both tails are reached, so a fleet
        // of workers does not reconnect in lock step.
        let delays = (0..<1000).map { _ in
            var backoff = Backoff()
            return backoff.next()
        }
        XCTAssertLessThan(delays.min() ?? 1, 0.085)
        XCTAssertGreaterThan(delays.max() ?? 0, 0.115)
        XCTAssertGreaterThan(Set(delays).count, 900, "not a handful of fixed values")
    }

    func testCustomInitialAndCap() {
        var backoff = Backoff(initial: 1, cap: 2)
        let first = backoff.next(), second = backoff.next(), third = backoff.next()
        XCTAssertEqual(first, 1, accuracy: 0.25 + 1e-9)
        XCTAssertEqual(second, 2, accuracy: 0.5 + 1e-9)
        XCTAssertEqual(third, 2, accuracy: 0.5 + 1e-9, "capped at 2")
    }
}
