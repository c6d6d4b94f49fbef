@testable import WebhookWorker
import XCTest

/// What the room holds, item by item: the taker asks it whether an item in the processing list
/// is in flight, and a failover puts back what it holds (see `Room`).
final class RoomTests: XCTestCase {
    /// An item of `count` bytes: `head` and `tail` at its ends, `middle` in between.
    private func item(head: UInt8, middle: UInt8, tail: UInt8, count: Int = 400) -> [UInt8] {
        var bytes = [UInt8](repeating: middle, count: count)
        for index in 0..<64 { bytes[index] = head }
        for index in (count - 32)..<count { bytes[index] = tail }
        return bytes
    }

    /// Items are told apart by every byte, also those that share the ends their key is hashed from.
    func testItemsSharingTheirEndsAreHeldAndReleasedApart() {
        let room = Room(maxEvents: 10, maxBytes: 1 << 20, targets: 1)
        let first = item(head: 1, middle: 2, tail: 3), second = item(head: 1, middle: 9, tail: 3)
        room.add([first, second])
        XCTAssertTrue(room.holds(first))
        XCTAssertTrue(room.holds(second))
        XCTAssertFalse(room.holds(item(head: 1, middle: 5, tail: 3)))

        room.release([first])
        XCTAssertFalse(room.holds(first))
        XCTAssertTrue(room.holds(second))
        XCTAssertEqual(room.heldItems(), [second])
        XCTAssertEqual(room.heldEvents, 1)
    }

    /// A copy held twice (an item taken again after its reply was lost) is released copy by copy.
    func testTwoCopiesOfAnItemAreReleasedOneAtATime() {
        let room = Room(maxEvents: 10, maxBytes: 1 << 20, targets: 1)
        let short = Array("#abc {}".utf8), long = item(head: 7, middle: 8, tail: 9)
        room.add([short, short, long])
        room.release([short])
        XCTAssertTrue(room.holds(short))
        room.release([short, long])
        XCTAssertFalse(room.holds(short))
        XCTAssertFalse(room.holds(long))
        XCTAssertEqual(room.heldEvents, 0)
    }
}
