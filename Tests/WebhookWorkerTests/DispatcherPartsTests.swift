import Foundation
import WebhookHTTP
@testable import WebhookWorker
import XCTest

/// The dispatcher's small parts, without threads of their own: its mailbox and its heap trim.
final class DispatcherPartsTests: XCTestCase {
    func testTheMailboxHandsOverWhatWasPostedOnceInOrder() {
        let mailbox = DispatcherMailbox()
        var taken: [[[UInt8]]] = [], responses: [[HTTPResponse]] = []
        mailbox.post(taken: [[1], [2]])
        mailbox.post(taken: [[3]])
        mailbox.post(responses: [HTTPResponse(token: 7, outcome: .answered(status: 204))])
        mailbox.post(responses: [HTTPResponse(token: 8, outcome: .answered(status: 204)),
                                 HTTPResponse(token: 9, outcome: .answered(status: 500))])
        let asked = Date()
        XCTAssertTrue(mailbox.wait(until: Date(timeIntervalSinceNow: 5)))
        XCTAssertLessThan(Date().timeIntervalSince(asked), 1, "mail waiting: no wait (a post before the wait is not lost)")
        XCTAssertFalse(mailbox.take(&taken, &responses), "no finish asked")
        XCTAssertEqual(taken, [[[1], [2]], [[3]]])
        XCTAssertEqual(responses.map { $0.map(\.token) }, [[7], [8, 9]], "each round's array whole, in order")
        XCTAssertTrue(mailbox.isEmpty)
        taken.removeAll(keepingCapacity: true)
        responses.removeAll(keepingCapacity: true)
        XCTAssertFalse(mailbox.take(&taken, &responses))
        XCTAssertTrue(taken.isEmpty && responses.isEmpty, "taken once")
    }

    func testTheMailboxWaitsUntilTheDeadlineOrAPost() {
        let mailbox = DispatcherMailbox()
        let started = Date()
        XCTAssertFalse(mailbox.wait(until: Date(timeIntervalSinceNow: 0.05)))
        XCTAssertGreaterThanOrEqual(Date().timeIntervalSince(started), 0.04)
        DispatchQueue.global().asyncAfter(deadline: .now() + 0.05) { mailbox.post(responses: [HTTPResponse(token: 1, outcome: .answered(status: 200))]) }
        XCTAssertTrue(mailbox.wait(until: Date(timeIntervalSinceNow: 10)), "a post wakes the waiter")
        var taken: [[[UInt8]]] = [], responses: [[HTTPResponse]] = []
        mailbox.finish()
        XCTAssertTrue(mailbox.take(&taken, &responses), "the finish is reported")
        XCTAssertTrue(mailbox.wait(until: Date(timeIntervalSinceNow: 10)), "and stays: a finishing loop never waits")
    }

    func testTheHeapIsTrimmedOncePerBusySpell() {
        var trim = HeapTrim()
        XCTAssertFalse(trim.shouldTrim(), "nothing was done yet")
        trim.workDone()
        trim.workDone()
        XCTAssertTrue(trim.shouldTrim())
        XCTAssertFalse(trim.shouldTrim(), "once per busy spell, not every idle second")
        trim.workDone()
        XCTAssertTrue(trim.shouldTrim())
    }
}
