import Foundation
import WebhookCore
import WebhookQueue
import XCTest

/// The `EndpointLimits` contract: the rate limit's slots and the breaker's transitions, the same
/// cases (`check...`) against both drivers (`MemoryEndpointLimitsContractTests`,
/// `RedisEndpointLimitsContractTests`; see `DeliveryQueueContract` for why each lists them).
/// Intervals are a few hundred milliseconds, on the driver's own clock.
class EndpointLimitsContract: ContractCase {
    private func granted(_ slots: [RateReservation.Slot]) -> [Double] {
        slots.compactMap { if case .granted(let delay) = $0 { return delay } else { return nil } }
    }

    // MARK: Rate slots

    func checkSlotsAreOneIntervalApartAcrossCallsAndWorkers() throws {
        // One a second: the next call (well within the 3 s given out) must continue after them.
        let rate = try XCTUnwrap(RateLimit(parsing: "1/s"))
        let first = try driver.limits().reserve(.endpoint("billing"), rate: rate, maxHold: 60, heldSince: [0, 0, 0])
        XCTAssertEqual(first.slots.count, 3)
        let delays = granted(first.slots)
        XCTAssertEqual(delays.count, 3, "\(first.slots)")
        XCTAssertEqual(delays[0], 0, accuracy: 1e-3, "the first slot is now")
        XCTAssertEqual(delays[1], 1, accuracy: 1e-3)
        XCTAssertEqual(delays[2], 2, accuracy: 1e-3)
        // Another worker's call continues after the slots already given.
        let second = try driver.limits().reserve(.endpoint("billing"), rate: rate, maxHold: 60, heldSince: [0])
        let at = second.now + (granted(second.slots).first ?? -1)
        XCTAssertEqual(at, first.now + 3, accuracy: 0.01, "\(second)")
        // Another scope has its own slots.
        let other = try driver.limits().reserve(.destination("0123"), rate: rate, maxHold: 60, heldSince: [0])
        XCTAssertEqual(granted(other.slots).first ?? -1, 0, accuracy: 1e-3)
    }

    func checkASlotPastTheLongestHoldIsRefusedAndTakesNothingFromTheOthers() throws {
        let rate = try XCTUnwrap(RateLimit(parsing: "1/s"))
        let limits = driver.limits()
        let now = try limits.reserve(.endpoint("slow"), rate: rate, maxHold: 60, heldSince: [0]).now
        // Held for 59.5 s already: the next slot, a second after the first, would hold it past 60 s.
        let answer = try limits.reserve(.endpoint("slow"), rate: rate, maxHold: 60, heldSince: [now - 59.5, 0])
        guard case .refused(let wait) = answer.slots[0] else { return XCTFail("\(answer.slots)") }
        XCTAssertGreaterThan(wait, 0.5)
        XCTAssertLessThanOrEqual(wait, 1.0 + 1e-3)
        XCTAssertEqual(granted([answer.slots[1]]).first ?? -1, wait, accuracy: 1e-3, "the refused one left its slot free")
    }

    // MARK: Breaker

    func checkTheBreakerOpensAtTheThresholdProbesOnceAnIntervalLaterAndClosesOnASuccess() throws {
        let limits = driver.limits(), other = driver.limits()
        let probe = 0.3
        func record(successes: Int = 0, failures: Int = 0, trailing: Int? = nil) throws -> BreakerRecord {
            try limits.record(endpoint: "e", successes: successes, failures: failures, failuresSinceSuccess: trailing,
                              lastError: failures > 0 ? "HTTP 503" : nil, threshold: 3, probeInterval: probe)
        }
        XCTAssertEqual(try limits.gate(endpoint: "e", probeInterval: probe, token: "w1"), .closed)
        XCTAssertEqual(try record(failures: 2), BreakerRecord(transition: .none, consecutiveFailures: 2, openedAt: nil))
        XCTAssertEqual(try limits.gate(endpoint: "e", probeInterval: probe, token: "w1"), .closed)
        let opened = try record(failures: 1)
        XCTAssertEqual(opened.transition, .opened)
        XCTAssertEqual(opened.consecutiveFailures, 3)
        XCTAssertTrue(opened.isOpen)
        XCTAssertEqual(try record(failures: 1).transition, .none, "only one recorder sees the opening")

        guard case .hold(let wait) = try other.gate(endpoint: "e", probeInterval: probe, token: "w2") else {
            return XCTFail("the first probe waits one interval after opening")
        }
        XCTAssertGreaterThan(wait, 0)
        XCTAssertLessThanOrEqual(wait, probe + 0.01)
        Thread.sleep(forTimeInterval: wait + 0.05)
        XCTAssertEqual(try other.gate(endpoint: "e", probeInterval: probe, token: "w2"), .probe)
        guard case .hold = try limits.gate(endpoint: "e", probeInterval: probe, token: "w1") else {
            return XCTFail("one probe per interval for the whole fleet")
        }
        let closed = try record(successes: 1, failures: 0)
        XCTAssertEqual(closed, BreakerRecord(transition: .closed, consecutiveFailures: 0, openedAt: nil))
        XCTAssertEqual(try other.gate(endpoint: "e", probeInterval: probe, token: "w2"), .closed)
    }

    func checkASuccessResetsTheCountToTheFailuresAfterIt() throws {
        let limits = driver.limits()
        func record(_ successes: Int, _ failures: Int, _ trailing: Int?) throws -> BreakerRecord {
            try limits.record(endpoint: "e", successes: successes, failures: failures, failuresSinceSuccess: trailing,
                              lastError: nil, threshold: 5, probeInterval: 1)
        }
        XCTAssertEqual(try record(0, 4, nil).consecutiveFailures, 4)
        XCTAssertEqual(try record(1, 3, 2).consecutiveFailures, 2, "only the failures after the batch's last success count")
        XCTAssertEqual(try record(0, 2, nil).consecutiveFailures, 4)
        XCTAssertEqual(try record(0, 1, nil).transition, .opened)
        XCTAssertEqual(try record(1, 5, 5).transition, .none, "a success that leaves the count at the threshold keeps it open")
    }

    func checkAPausedEndpointIsHeldWhateverItsBreaker() throws {
        let limits = driver.limits()
        try driver.pause(endpoint: "p")
        XCTAssertEqual(try limits.gate(endpoint: "p", probeInterval: 1, token: "w1"), .paused)
        XCTAssertEqual(try limits.gate(endpoint: "q", probeInterval: 1, token: "w1"), .closed)
    }
}

final class MemoryEndpointLimitsContractTests: EndpointLimitsContract {
    override func makeDriver() throws -> any ContractDriver { MemoryContractDriver() }

    func testSlotsAreOneIntervalApartAcrossCallsAndWorkers() throws { try checkSlotsAreOneIntervalApartAcrossCallsAndWorkers() }
    func testASlotPastTheLongestHoldIsRefusedAndTakesNothingFromTheOthers() throws { try checkASlotPastTheLongestHoldIsRefusedAndTakesNothingFromTheOthers() }
    func testTheBreakerOpensAtTheThresholdProbesOnceAnIntervalLaterAndClosesOnASuccess() throws { try checkTheBreakerOpensAtTheThresholdProbesOnceAnIntervalLaterAndClosesOnASuccess() }
    func testASuccessResetsTheCountToTheFailuresAfterIt() throws { try checkASuccessResetsTheCountToTheFailuresAfterIt() }
    func testAPausedEndpointIsHeldWhateverItsBreaker() throws { try checkAPausedEndpointIsHeldWhateverItsBreaker() }
}

final class RedisEndpointLimitsContractTests: EndpointLimitsContract {
    override func makeDriver() throws -> any ContractDriver { try RedisContractDriver() }

    func testSlotsAreOneIntervalApartAcrossCallsAndWorkers() throws { try checkSlotsAreOneIntervalApartAcrossCallsAndWorkers() }
    func testASlotPastTheLongestHoldIsRefusedAndTakesNothingFromTheOthers() throws { try checkASlotPastTheLongestHoldIsRefusedAndTakesNothingFromTheOthers() }
    func testTheBreakerOpensAtTheThresholdProbesOnceAnIntervalLaterAndClosesOnASuccess() throws { try checkTheBreakerOpensAtTheThresholdProbesOnceAnIntervalLaterAndClosesOnASuccess() }
    func testASuccessResetsTheCountToTheFailuresAfterIt() throws { try checkASuccessResetsTheCountToTheFailuresAfterIt() }
    func testAPausedEndpointIsHeldWhateverItsBreaker() throws { try checkAPausedEndpointIsHeldWhateverItsBreaker() }
}
