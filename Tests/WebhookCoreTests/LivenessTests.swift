import Foundation
import XCTest
@testable import WebhookCore

final class LivenessTests: XCTestCase {
    /// A clock the test moves by hand.
    private final class ManualClock: @unchecked Sendable {
        private let lock = NSLock()
        private var seconds = 1000.0
        var now: Double { lock.lock(); defer { lock.unlock() }; return seconds }
        func advance(_ by: Double) { lock.lock(); seconds += by; lock.unlock() }
    }

    func testNothingRegisteredIsNeverStalled() {
        let clock = ManualClock()
        let liveness = Liveness(clock: { clock.now })
        clock.advance(1_000_000)
        XCTAssertEqual(liveness.stalled(), [])
        XCTAssertEqual(liveness.names, [])
    }

    func testALoopThatStopsBeatingIsStalledOnlyAfterItsBound() {
        let clock = ManualClock()
        let liveness = Liveness(clock: { clock.now })
        liveness.register("taker", bound: 30)
        liveness.register("settler", bound: 10)
        XCTAssertEqual(liveness.names, ["settler", "taker"])

        clock.advance(10)
        XCTAssertEqual(liveness.stalled(), [], "exactly at the bound is not stalled yet")
        clock.advance(0.5)
        XCTAssertEqual(liveness.stalled(), [Liveness.Stall(name: "settler", silentFor: 10.5, bound: 10)])

        liveness.beat("settler")
        XCTAssertEqual(liveness.stalled(), [], "a beat clears the stall")

        clock.advance(25)
        XCTAssertEqual(liveness.stalled().map(\.name), ["settler", "taker"], "sorted by name")
        XCTAssertEqual(liveness.stalled().first { $0.name == "taker" }?.silentFor, 35.5)
    }

    func testBeatsKeepALoopAliveIndefinitely() {
        let clock = ManualClock()
        let liveness = Liveness(clock: { clock.now })
        liveness.register("maintenance", bound: 5)
        for _ in 0..<1000 {
            clock.advance(4.9)
            liveness.beat("maintenance")
            XCTAssertEqual(liveness.stalled(), [])
        }
    }

    func testStalledTakesAnExplicitNow() {
        let clock = ManualClock()
        let liveness = Liveness(clock: { clock.now })
        liveness.register("taker", bound: 2)
        XCTAssertEqual(liveness.stalled(now: clock.now + 2), [])
        XCTAssertEqual(liveness.stalled(now: clock.now + 3).map(\.name), ["taker"])
    }

    func testUnregisterAndUnknownBeats() {
        let clock = ManualClock()
        let liveness = Liveness(clock: { clock.now })
        liveness.beat("never-registered")
        XCTAssertEqual(liveness.names, [], "a beat does not register")
        liveness.register("taker", bound: 1)
        clock.advance(5)
        XCTAssertEqual(liveness.stalled().map(\.name), ["taker"])
        liveness.unregister("taker")
        XCTAssertEqual(liveness.stalled(), [], "a loop that ended on purpose is not stalled")
        XCTAssertEqual(liveness.names, [])
    }

    func testRegisteringAgainResetsTheTimerAndBound() {
        let clock = ManualClock()
        let liveness = Liveness(clock: { clock.now })
        liveness.register("probe", bound: 1)
        clock.advance(5)
        liveness.register("probe", bound: 10)
        XCTAssertEqual(liveness.stalled(), [])
        clock.advance(10.5)
        XCTAssertEqual(liveness.stalled(), [Liveness.Stall(name: "probe", silentFor: 10.5, bound: 10)])
    }

    func testStallDescriptionNamesTheLoop() {
        let stall = Liveness.Stall(name: "settler", silentFor: 75.4, bound: 60)
        XCTAssertEqual(stall.description, "settler (no progress for 75.4 s, bound 60.0 s)")
    }

    func testConcurrentBeatsAndReads() {
        let liveness = Liveness()
        let names = (0..<8).map { "loop-\($0)" }
        for name in names { liveness.register(name, bound: 60) }
        DispatchQueue.concurrentPerform(iterations: 8) { index in
            for _ in 0..<10_000 {
                liveness.beat(names[index])
                if index == 0 { _ = liveness.stalled() }
            }
        }
        XCTAssertEqual(liveness.stalled(), [])
        XCTAssertEqual(liveness.names, names)
    }

    func testMonotonicClockMovesForward() {
        let first = Liveness.monotonicSeconds()
        Thread.sleep(forTimeInterval: 0.01)
        XCTAssertGreaterThan(Liveness.monotonicSeconds(), first)
    }
}
