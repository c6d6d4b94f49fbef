import Foundation
@testable import WebhookCore
@testable import WebhookWorker
import XCTest

/// The dispatcher's in-memory wait for near rate-limit slots.
final class PacerTests: XCTestCase {
    private let target = Target(kind: .webhook, url: "http://127.0.0.1:1/hook")

    private func attempt(_ id: UInt64) throws -> DeliveryLedger.Attempt {
        let event = try Event.parse(Array(#"{"action":"a","username":"u"}"#.utf8), maxBytes: 1 << 10, now: 1)
        return DeliveryLedger.Attempt(eventID: id, target: target, tries: 0, webhookID: "msg_\(id)", event: event)
    }

    func testEntriesGoAtTheirTimeInOrder() throws {
        var pacer = Pacer()
        let start = Date()
        for (id, offset) in [(2, 0.2), (1, 0.1), (3, 0.3)] {
            pacer.add(Pacer.Entry(at: start.addingTimeInterval(offset), scope: .endpoint("e"), interval: 0.05, slot: 0,
                                  attempts: [try attempt(UInt64(id))]))
        }
        XCTAssertEqual(pacer.nextTime, start.addingTimeInterval(0.1))
        XCTAssertTrue(pacer.release(now: start).isEmpty, "nothing before its time")
        XCTAssertEqual(pacer.release(now: start.addingTimeInterval(0.15)).map(\.eventID), [1])
        XCTAssertEqual(pacer.nextTime, start.addingTimeInterval(0.2))
        XCTAssertEqual(pacer.release(now: start.addingTimeInterval(0.2)).map(\.eventID), [2])
        XCTAssertEqual(pacer.release(now: start.addingTimeInterval(0.3)).map(\.eventID), [3])
        XCTAssertTrue(pacer.isEmpty)
    }

    func testSlotsFoundPassedTogetherGoAnIntervalApart() throws {
        var pacer = Pacer()
        let start = Date()
        for id in 1...3 {
            pacer.add(Pacer.Entry(at: start.addingTimeInterval(Double(id) * 0.1), scope: .endpoint("e"), interval: 0.1, slot: 0,
                                  attempts: [try attempt(UInt64(id))]))
        }
        // The dispatcher was busy for a second: all three slots have passed. It may catch up
        // by 50 ms (less than an interval), so they go an interval apart minus that.
        let late = start.addingTimeInterval(1)
        XCTAssertEqual(pacer.release(now: late).map(\.eventID), [1], "one now, not a burst")
        XCTAssertEqual(pacer.nextTime?.timeIntervalSince(late) ?? 0, 0.1 * 0.98 - 0.05, accuracy: 1e-6)
        XCTAssertTrue(pacer.release(now: late.addingTimeInterval(0.04)).isEmpty)
        XCTAssertEqual(pacer.release(now: late.addingTimeInterval(0.05)).map(\.eventID), [2])
        XCTAssertEqual(pacer.release(now: late.addingTimeInterval(0.15)).map(\.eventID), [3])
        // Another scope is not held back by this one.
        pacer.add(Pacer.Entry(at: late, scope: .endpoint("other"), interval: 0.1, slot: 0, attempts: [try attempt(9)]))
        XCTAssertEqual(pacer.release(now: late.addingTimeInterval(0.16)).map(\.eventID), [9])
    }

    func testADispatcherWakingLateKeepsUpWithoutBunching() throws {
        var pacer = Pacer()
        let start = Date()
        for id in 1...100 {
            pacer.add(Pacer.Entry(at: start.addingTimeInterval(Double(id) * 0.002), scope: .endpoint("fast"), interval: 0.002,
                                  slot: 0, attempts: [try attempt(UInt64(id))]))
        }
        // Woken every 4 ms (two intervals, not on the slots): it keeps up with the rate, never
        // more than three at a time.
        var released: [Int] = []
        var now = start
        while !pacer.isEmpty && now < start.addingTimeInterval(1) {
            now = now.addingTimeInterval(0.004)
            let batch = pacer.release(now: now)
            XCTAssertLessThanOrEqual(batch.count, 3, "at \(now.timeIntervalSince(start))")
            released.append(batch.count)
        }
        XCTAssertTrue(pacer.isEmpty, "kept up: \(released)")
        XCTAssertLessThanOrEqual(now.timeIntervalSince(start), 0.22)
    }
}
