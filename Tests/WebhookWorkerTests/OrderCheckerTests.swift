import TestSupport
import XCTest

/// The checker the ordered-delivery tests rely on must catch each kind of violation.
final class OrderCheckerTests: XCTestCase {
    private func records(_ text: String) -> [OrderChecker.Record] {
        // "a0 a1x a1": key, sequence, x = not delivered.
        text.split(separator: " ").map { word in
            let failed = word.hasSuffix("x")
            let core = failed ? word.dropLast() : word[...]
            return OrderChecker.Record(key: String(core.prefix(1)), sequence: Int(core.dropFirst())!, delivered: !failed)
        }
    }

    func testInOrderWithRetriesAndAnImmediateResendPasses() {
        XCTAssertEqual(OrderChecker.violations(records("a0x a0 b0 a1 a1 b1x b1 a2"), keys: ["a", "b"], expected: 3),
                       ["b: event 2 never delivered (last delivered: 1)"])
        XCTAssertEqual(OrderChecker.violations(records("a0x a0 a1 a1 a2"), keys: ["a"], expected: 3), [])
    }

    func testSendingAheadOfAnUndeliveredEventFails() {
        XCTAssertEqual(OrderChecker.violations(records("a0x a1 a0 a1"), keys: ["a"], expected: 2),
                       ["a: event 1 was sent before event 0 was delivered"])
    }

    func testAnOlderEventAfterANewerOneFails() {
        XCTAssertEqual(OrderChecker.violations(records("a0 a1 a0"), keys: ["a"], expected: 2),
                       ["a: event 0 delivered again after event 1"])
    }

    func testAMissingEventFailsAndASkippedOneMayBeAbsent() {
        XCTAssertEqual(OrderChecker.violations(records("a0 a1"), keys: ["a"], expected: 3),
                       ["a: event 2 never delivered (last delivered: 1)"])
        XCTAssertEqual(OrderChecker.violations(records("a0x a0x a1 a2"), keys: ["a"], expected: 3, skipped: ["a": [0]]), [])
    }

    func testBatchedDeliveriesAreJudgedByDeliveriesOnly() {
        XCTAssertEqual(OrderChecker.violations(records("a0x a1x a0 a1"), keys: ["a"], expected: 2, batched: true), [])
        XCTAssertEqual(OrderChecker.violations(records("a1 a0"), keys: ["a"], expected: 2, batched: true),
                       ["a: event 1 was sent before event 0 was delivered", "a: event 1 never delivered (last delivered: 0)"])
    }
}
