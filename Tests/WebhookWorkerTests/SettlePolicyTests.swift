import Foundation
@testable import WebhookWorker
import XCTest

/// When the dispatcher writes pending outcomes (`SettlePolicy`), and the room's fullness it reads.
final class SettlePolicyTests: XCTestCase {
    let since = Date(timeIntervalSince1970: 1_000), never = Date.distantPast

    func testTheDefaultRoomSettlesBatchesOf256OrAfterTheDelay() {
        let policy = SettlePolicy(maxInflightEvents: 1024)
        XCTAssertEqual(policy.batch, 256)
        XCTAssertEqual(policy.dueAt(count: 255, since: since, retryAt: never, waiting: false), since.addingTimeInterval(0.05))
        XCTAssertEqual(policy.dueAt(count: 256, since: since, retryAt: never, waiting: false), never, "a full batch: at once")
    }

    /// The fault: with a fixed batch larger than the room, a batch never filled and every room's
    /// worth of events waited out the whole delay.
    func testASmallRoomSettlesAQuarterOfItAtOnce() {
        for (room, batch) in [(32, 8), (100, 25), (4, 1), (1, 1), (2_000, 256)] {
            let policy = SettlePolicy(maxInflightEvents: room)
            XCTAssertEqual(policy.batch, batch, "WEBHOOK_MAX_INFLIGHT=\(room)")
            XCTAssertEqual(policy.dueAt(count: batch, since: since, retryAt: never, waiting: false), never,
                           "WEBHOOK_MAX_INFLIGHT=\(room): \(batch) pending are written at once")
            XCTAssertLessThan(policy.batch, max(2, room), "a batch always fits in the room")
        }
    }

    func testSomethingWaitingForRoomIsSettledAtOnceButNotBeforeABackoff() {
        let policy = SettlePolicy(maxInflightEvents: 1024)
        XCTAssertEqual(policy.dueAt(count: 1, since: since, retryAt: never, waiting: true), never)
        let backoff = since.addingTimeInterval(2)
        XCTAssertEqual(policy.dueAt(count: 1, since: since, retryAt: backoff, waiting: true), backoff)
        XCTAssertEqual(policy.dueAt(count: 300, since: since, retryAt: backoff, waiting: false), backoff)
        XCTAssertEqual(policy.dueAt(count: 1, since: since, retryAt: backoff, waiting: false), backoff,
                       "the delay ends before the backoff: the backoff wins")
    }

    func testTheRoomIsFullByEventsOrByBytesUntilASettleFreesSome() {
        let byEvents = Room(maxEvents: 2, maxBytes: 1 << 20, targets: 1)
        byEvents.add([[1, 2, 3]])
        XCTAssertFalse(byEvents.isFull)
        byEvents.add([[4, 5, 6]])
        XCTAssertTrue(byEvents.isFull)
        byEvents.release([[1, 2, 3]])
        XCTAssertFalse(byEvents.isFull)

        // One target: each stored byte counts twice (the item and its request body).
        let byBytes = Room(maxEvents: 100, maxBytes: 50, targets: 1)
        byBytes.add([Array(repeating: 7, count: 20)])
        XCTAssertFalse(byBytes.isFull, "40 of 50 bytes")
        byBytes.add([Array(repeating: 8, count: 5)])
        XCTAssertTrue(byBytes.isFull, "50 of 50 bytes")
        byBytes.release([Array(repeating: 8, count: 5)])
        XCTAssertFalse(byBytes.isFull)
    }
}
