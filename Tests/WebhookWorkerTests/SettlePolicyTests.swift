import Foundation
@testable import WebhookWorker
import XCTest

/// When the dispatcher writes pending outcomes (`SettlePolicy`), and the room's fullness it reads.
final class SettlePolicyTests: XCTestCase {
    let since = Date(timeIntervalSince1970: 1_000), never = Date.distantPast

    func testTheDefaultRoomSettlesBatchesOf128OrAfterTheDelay() {
        let policy = SettlePolicy(maxInflightEvents: 512)
        XCTAssertEqual(policy.batch, 128)
        XCTAssertEqual(policy.dueAt(count: 127, since: since, retryAt: never, fullHolding: nil), since.addingTimeInterval(0.05))
        XCTAssertEqual(policy.dueAt(count: 128, since: since, retryAt: never, fullHolding: nil), never, "a full batch: at once")
    }

    /// The fault: with a fixed batch larger than the room, a batch never filled and every room's
    /// worth of events waited out the whole delay. A room of 1024 (the default before) or more
    /// settles the largest batch.
    func testASmallRoomSettlesAQuarterOfItAtOnce() {
        for (room, batch) in [(32, 8), (100, 25), (4, 1), (1, 1), (1_024, 256), (2_000, 256),
                              (100_000, SettlePolicy.largestBatch)] {
            let policy = SettlePolicy(maxInflightEvents: room)
            XCTAssertEqual(policy.batch, batch, "WEBHOOK_MAX_INFLIGHT=\(room)")
            XCTAssertEqual(policy.dueAt(count: batch, since: since, retryAt: never, fullHolding: nil), never,
                           "WEBHOOK_MAX_INFLIGHT=\(room): \(batch) pending are written at once")
            XCTAssertLessThan(policy.batch, max(2, room), "a batch always fits in the room")
        }
    }

    /// A room full by bytes holds fewer events than a batch: a quarter of what it holds is
    /// enough. A room full by events (a backlog, nearly always) waits for its batch as before.
    func testAFullRoomIsSettledOnceAQuarterOfWhatItHoldsIsPending() {
        let policy = SettlePolicy(maxInflightEvents: 1024)
        XCTAssertEqual(policy.dueAt(count: 3, since: since, retryAt: never, fullHolding: 12), never)
        XCTAssertEqual(policy.dueAt(count: 2, since: since, retryAt: never, fullHolding: 12), since.addingTimeInterval(0.05))
        XCTAssertEqual(policy.dueAt(count: 1, since: since, retryAt: never, fullHolding: 2), never)
        XCTAssertEqual(policy.dueAt(count: 1, since: since, retryAt: never, fullHolding: 0), never)
        XCTAssertEqual(policy.dueAt(count: 255, since: since, retryAt: never, fullHolding: 1024), since.addingTimeInterval(0.05),
                       "full by events: no settle of a few outcomes at every turn")
    }

    func testNothingIsSettledBeforeABackoff() {
        let policy = SettlePolicy(maxInflightEvents: 1024)
        let backoff = since.addingTimeInterval(2)
        XCTAssertEqual(policy.dueAt(count: 1, since: since, retryAt: backoff, fullHolding: 1), backoff)
        XCTAssertEqual(policy.dueAt(count: 300, since: since, retryAt: backoff, fullHolding: nil), backoff)
        XCTAssertEqual(policy.dueAt(count: 1, since: since, retryAt: backoff, fullHolding: nil), backoff,
                       "the delay ends before the backoff: the backoff wins")
    }

    func testTheRoomIsFullByEventsOrByBytesUntilASettleFreesSome() {
        let byEvents = Room(maxEvents: 2, maxBytes: 1 << 20, targets: 1)
        byEvents.add([[1, 2, 3]])
        XCTAssertNil(byEvents.fullHolding)
        byEvents.add([[4, 5, 6]])
        XCTAssertEqual(byEvents.fullHolding, 2)
        byEvents.release([[1, 2, 3]])
        XCTAssertNil(byEvents.fullHolding)

        // One target: each stored byte counts twice (the item and its request body).
        let byBytes = Room(maxEvents: 100, maxBytes: 50, targets: 1)
        byBytes.add([Array(repeating: 7, count: 20)])
        XCTAssertNil(byBytes.fullHolding, "40 of 50 bytes")
        byBytes.add([Array(repeating: 8, count: 5)])
        XCTAssertEqual(byBytes.fullHolding, 2, "50 of 50 bytes, two events")
        byBytes.release([Array(repeating: 8, count: 5)])
        XCTAssertNil(byBytes.fullHolding)
    }
}
