@testable import WebhookCore
import XCTest

/// The ledger keeps its events and requests in slabs: a stale handle must never reach the value
/// that reused its slot (it would decide another event's attempt).
final class SlabTests: XCTestCase {
    func testAStaleHandleFindsNothingOnceItsSlotIsReused() {
        var slab = Slab<[Int]>()
        let first = slab.insert([1])
        let slot = try! XCTUnwrap(slab.slot(of: first))
        XCTAssertEqual(slab.remove(slot: slot), [1])
        XCTAssertNil(slab.slot(of: first), "removed")
        let second = slab.insert([2])
        XCTAssertEqual(slab.slot(of: second), slot, "the freed slot is reused")
        XCTAssertNotEqual(second, first)
        XCTAssertNil(slab.slot(of: first), "the old handle does not reach the new value")
        XCTAssertNil(slab[handle: first])
        slab[handle: first]?.append(9)  // a no-op
        XCTAssertEqual(slab[handle: second], [2])
        XCTAssertEqual(slab.count, 1)
    }

    func testHandlesAreNeverZeroAndNeverRepeatWhileSlotsAreReused() {
        var slab = Slab<Int>()
        var seen: Set<UInt64> = []
        var live: [UInt64] = []
        for round in 0..<1000 {
            let handle = slab.insert(round)
            XCTAssertNotEqual(handle, 0)
            XCTAssertTrue(seen.insert(handle).inserted, "handle \(handle) made twice")
            live.append(handle)
            if round % 3 != 0, let oldest = live.first {
                live.removeFirst()
                _ = slab.remove(slot: slab.slot(of: oldest)!)
            }
        }
        XCTAssertEqual(slab.count, live.count)
        XCTAssertNil(slab.slot(of: 0))
        XCTAssertNil(slab.slot(of: UInt64(1) << 32 | 5_000), "beyond the slots")
    }

    func testValuesChangeInPlace() {
        var slab = Slab<[Int]>()
        let handle = slab.insert([])
        let slot = slab.slot(of: handle)!
        slab[slot: slot].append(1)
        slab[handle: handle]?.append(2)
        XCTAssertEqual(slab[slot: slot], [1, 2])
    }
}
