@testable import WebhookHTTP
import XCTest

/// How `LaneScheduler` shares the pool between lanes (endpoints): pure, no transfers.
final class LaneSchedulerTests: XCTestCase {
    private var token: UInt64 = 0

    private func request(lane: Int) -> HTTPRequest {
        token += 1
        return HTTPRequest(token: token, url: "http://127.0.0.1/", headers: [], body: [], lane: lane, timeout: 10)
    }

    /// Ten lanes whose requests never finish beside 190 whose requests finish at once (the
    /// bench's "200 endpoints, 10 slow"), with the defaults' pool of 64 and lane cap of 48. Round
    /// after round, round-robin alone let the slow lanes keep one more slot each round until they
    /// held the whole pool and the fast lanes got nothing; with the fair share they hold one each.
    func testSlowLanesDoNotEndUpHoldingThePool() {
        var scheduler = LaneScheduler(maxPerLane: 48, poolSize: 64)
        let slow = Set(0..<10)
        for lane in slow { for _ in 0..<48 { scheduler.enqueue(request(lane: lane)) } }
        var slowRunning = 0
        var fastGranted = 0
        for _ in 0..<100 {
            for lane in 10..<200 where lane % 7 != 0 { scheduler.enqueue(request(lane: lane)) }
            fastGranted = 0
            var fastFinished: [Int] = []
            while slowRunning + fastFinished.count < 64, let next = scheduler.next() {
                if slow.contains(next.lane) { slowRunning += 1 } else { fastGranted += 1; fastFinished.append(next.lane) }
            }
            for lane in fastFinished { scheduler.finished(lane: lane) }
        }
        XCTAssertLessThanOrEqual(slowRunning, 10, "the slow lanes hold at most their share each")
        XCTAssertGreaterThanOrEqual(fastGranted, 64 - 10, "the rest of the pool goes to the fast lanes")
    }

    /// The share only binds when lanes compete: one busy lane gets its own cap, two split the pool.
    func testALoneLaneGetsItsCapAndTwoLanesSplitThePool() {
        var scheduler = LaneScheduler(maxPerLane: 48, poolSize: 64)
        for _ in 0..<100 { scheduler.enqueue(request(lane: 1)) }
        var granted = 0
        while scheduler.next() != nil { granted += 1 }
        XCTAssertEqual(granted, 48, "its own cap: nothing competes")

        var two = LaneScheduler(maxPerLane: 48, poolSize: 64)
        for _ in 0..<100 { two.enqueue(request(lane: 1)); two.enqueue(request(lane: 2)) }
        var perLane: [Int: Int] = [:]
        while let next = two.next() { perLane[next.lane, default: 0] += 1 }
        XCTAssertEqual(perLane, [1: 32, 2: 32])
        // When lane 2 has nothing left, lane 1 may grow back to its own cap.
        _ = two.removeWaiting(lane: 2)
        for _ in 0..<32 { two.finished(lane: 2) }
        var more = 0
        while two.next() != nil { more += 1 }
        XCTAssertEqual(more, 16, "back to 48 once it is alone")
    }

    /// Waiting requests are kept in reused slots: whatever the interleaving of lanes, takes,
    /// withdrawals and a burst larger than the kept slots, each lane's requests come out once,
    /// oldest first, and whole.
    func testWaitingRequestsComeOutOnceOldestFirstThroughReusedSlots() {
        var scheduler = LaneScheduler(maxPerLane: 1000, poolSize: 10_000)
        var sent: [Int: [UInt64]] = [:]
        var out: [Int: [UInt64]] = [:]
        func enqueue(_ lane: Int) {
            let next = request(lane: lane)
            sent[lane, default: []].append(next.token)
            scheduler.enqueue(next)
        }
        func take(_ count: Int) {
            for _ in 0..<count {
                guard let next = scheduler.next() else { return }
                XCTAssertEqual(next.url, "http://127.0.0.1/")
                out[next.lane, default: []].append(next.token)
                scheduler.finished(lane: next.lane)
            }
        }
        for round in 0..<50 {
            for lane in 0..<4 where (round + lane) % 3 != 0 { enqueue(lane) }
            take(2)
        }
        let withdrawn = scheduler.removeWaiting(lane: 1).map(\.token)
        out[1, default: []].append(contentsOf: withdrawn)
        for _ in 0..<3000 { enqueue(2) }  // a burst over the kept slots
        take(5000)
        for _ in 0..<5 { enqueue(3) }
        for request in scheduler.removeAllWaiting() { out[request.lane, default: []].append(request.token) }
        XCTAssertEqual(scheduler.waitingCount, 0)
        XCTAssertNil(scheduler.next())
        XCTAssertEqual(out, sent, "every request once, in its lane's order")
    }
}
