import Crypto
import Foundation
import WebhookCore
import WebhookQueue
import XCTest

/// The `DeliveryQueue` contract: every case (`check...`) runs against both drivers
/// (`MemoryDeliveryQueueContractTests`, `RedisDeliveryQueueContractTests`), which say how to make
/// one and list every case as a test: XCTest's discovery on Linux does not see inherited test
/// methods, so the base class has none (it would run them without a driver), and a new case
/// needs its one-line `test...` in both subclasses. The cases use the worker's operations only,
/// and look at the store the way a producer or an operator would.
class DeliveryQueueContract: ContractCase {
    private let lease = 60_000
    private let budget = 1 << 20

    private func joined(_ workerID: String) throws -> any DeliveryQueue {
        let queue = driver.queue(workerID)
        XCTAssertEqual(try queue.heartbeat(join: true, leaseMillis: lease), .alive)
        return queue
    }

    private func text(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self) }

    // MARK: Take

    func checkTakeIsRefusedWithCodeUnregisteredBeforeTheWorkerJoins() throws {
        try driver.push(["e1"])
        let queue = driver.queue("w1")
        XCTAssertThrowsError(try queue.take(max: 10, maxBytes: budget)) { error in
            XCTAssertEqual((error as? QueueError)?.code, .unregistered, "\(error)")
        }
        XCTAssertEqual(try driver.queued().map(text), ["e1"], "a refused take moves nothing")
    }

    func checkTakeTagsRawEventsLeavesInternalItemsAndTakesOldestFirst() throws {
        try driver.push([#"{"n":1}"#, "@mac id 1 t:f 0.0.0 {}", "!1 #x {}", #"{"n":2}"#])
        let queue = try joined("w1")
        let taken = try queue.take(max: 10, maxBytes: budget).map(text)
        XCTAssertEqual(taken.count, 4, "\(taken)")
        XCTAssertTrue(taken[0].hasPrefix("#") && taken[0].hasSuffix(#" {"n":1}"#), taken[0])
        XCTAssertEqual(taken[1], "@mac id 1 t:f 0.0.0 {}")
        XCTAssertEqual(taken[2], "!1 #x {}")
        XCTAssertTrue(taken[3].hasPrefix("#") && taken[3].hasSuffix(#" {"n":2}"#), taken[3])
        XCTAssertNotEqual(taken[0].split(separator: " ")[0], taken[3].split(separator: " ")[0], "each event its own tag")
        XCTAssertEqual(try driver.queued(), [])
        XCTAssertEqual(Set(try driver.processing("w1").map(text)), Set(taken), "held exactly as returned")
    }

    func checkTakeStopsAtItsCountAndByteBudgetButTakesAtLeastOne() throws {
        try driver.push(["@a " + String(repeating: "x", count: 100), "@b", "@c", "@d"])
        let queue = try joined("w1")
        XCTAssertEqual(try queue.take(max: 10, maxBytes: 10).count, 1, "one item over the budget is still taken")
        XCTAssertEqual(try queue.take(max: 2, maxBytes: budget).map(text), ["@b", "@c"])
        XCTAssertEqual(try driver.queued().map(text), ["@d"])
    }

    func checkWaitForWorkTellsWhetherTheQueueHoldsSomethingAndTakesNothing() throws {
        let queue = try joined("w1")
        let started = Date()
        XCTAssertFalse(try queue.waitForWork(timeout: 0.2))
        XCTAssertGreaterThanOrEqual(Date().timeIntervalSince(started), 0.15, "it waited for the timeout")
        try driver.push(["@a"])
        XCTAssertTrue(try queue.waitForWork(timeout: 5))
        XCTAssertEqual(try driver.queued().map(text), ["@a"], "waiting takes nothing")
        XCTAssertEqual(try driver.processing("w1"), [])
    }

    // MARK: Settle and its fence

    func checkSettleWritesEachOutcomeAndReleasesTheItem() throws {
        try driver.push(["@a", "@b"])
        let queue = try joined("w1")
        let taken = try queue.take(max: 2, maxBytes: budget)
        let settlements = [
            Settlement(ack: taken[0], outcomes: [.retry(after: 60, item: Array("@retry".utf8)),
                                                  .requeue(item: Array("@again".utf8)),
                                                  .dead(entry: Array(#"{"id":"x","reason":"r"}"#.utf8))]),
            Settlement(ack: taken[1]),
        ]
        let result = try queue.settle(settlements[...], deadMax: 0)
        XCTAssertEqual(result, SettleResult(written: 2, fenced: 0, trimmed: 0))
        XCTAssertEqual(try driver.processing("w1"), [])
        XCTAssertEqual(try driver.queued().map(text), ["@again"])
        XCTAssertEqual(try driver.delayedCount(), 1)
        XCTAssertEqual(try driver.dead().map(text), [#"{"id":"x","reason":"r"}"#])
    }

    func checkSettleTrimsTheDeadListToItsCapOldestFirst() throws {
        try driver.push(["@a", "@b", "@c"])
        let queue = try joined("w1")
        let taken = try queue.take(max: 3, maxBytes: budget)
        let settlements = taken.enumerated().map { index, item in
            Settlement(ack: item, outcomes: [.dead(entry: Array("d\(index)".utf8))])
        }
        XCTAssertEqual(try queue.settle(settlements[...], deadMax: 2), SettleResult(written: 3, fenced: 0, trimmed: 1))
        XCTAssertEqual(try driver.dead().map(text), ["d2", "d1"])
    }

    func checkASettleAfterTheWorkerWasReapedIsFencedAndWritesNothing() throws {
        try driver.push(["@a"])
        let slow = driver.queue("slow")
        XCTAssertEqual(try slow.heartbeat(join: true, leaseMillis: 100), .alive)
        let taken = try slow.take(max: 1, maxBytes: budget)
        Thread.sleep(forTimeInterval: 0.25)
        let reaper = try joined("reaper")
        XCTAssertEqual(try reaper.reapCandidates(leaseMillis: 100), ["slow"])
        XCTAssertEqual(try reaper.reap(worker: "slow", leaseMillis: 100), 1)

        let result = try slow.settle([Settlement(ack: taken[0], outcomes: [.dead(entry: Array("late".utf8)),
                                                                            .retry(after: 0, item: Array("@late".utf8))])][...],
                                     deadMax: 0)
        XCTAssertEqual(result, SettleResult(written: 0, fenced: 1, trimmed: 0))
        XCTAssertEqual(try driver.dead(), [], "a fenced settle writes no dead letter")
        XCTAssertEqual(try driver.delayedCount(), 0, "nor a retry")
        XCTAssertEqual(try driver.queued().map(text), ["!1 @a"], "the reaped item is back once, marked")
        XCTAssertEqual(try slow.heartbeat(join: false, leaseMillis: 100), .unregistered, "the reaped worker must join again")
    }

    func checkTheAttemptLogIsWrittenWithTheSettleCappedByCountAndAgeAndFencedAlike() throws {
        try driver.push(["@a", "@b", "@c"])
        let queue = try joined("w1")
        queue.attemptLog = AttemptLogConfiguration(maxRecords: 3, maxAge: 60)
        let taken = try queue.take(max: 3, maxBytes: budget)
        let now = Int(Date().timeIntervalSince1970 * 1000)
        func record(_ name: String, ageSeconds: Int = 0) -> [UInt8] { Array("[\(now - ageSeconds * 1000),\"\(name)\"]".utf8) }
        // The older of these two is past WEBHOOK_LOG_MAX_AGE: dropped from the oldest end.
        _ = try queue.settle([Settlement(ack: taken[0], log: [record("old", ageSeconds: 120), record("r1")])][...], deadMax: 0)
        XCTAssertEqual(try driver.attemptLog().map(text), [text(record("r1"))])
        _ = try queue.settle([Settlement(ack: taken[1], log: [record("r2"), record("r3"), record("r4")])][...], deadMax: 0)
        XCTAssertEqual(try driver.attemptLog().map(text), ["r4", "r3", "r2"].map { text(record($0)) }, "newest first, capped")
        // A settle fenced out (the item is gone) logs nothing either.
        _ = try queue.release([taken[2]])
        XCTAssertEqual(try queue.settle([Settlement(ack: taken[2], log: [record("fenced")])][...], deadMax: 0).fenced, 1)
        XCTAssertEqual(try driver.attemptLog().count, 3)
        XCTAssertFalse(try driver.attemptLog().map(text).contains(text(record("fenced"))))
    }

    // MARK: Crash marks, reap and sweep

    func checkReapMarksEveryItemWithACrashWhenNothingWasBeingAdmitted() throws {
        try driver.push(["@a", "!2 @b"])
        let dying = driver.queue("dying")
        XCTAssertEqual(try dying.heartbeat(join: true, leaseMillis: 100), .alive)
        _ = try dying.take(max: 2, maxBytes: budget)
        Thread.sleep(forTimeInterval: 0.25)
        let reaper = try joined("reaper")
        XCTAssertEqual(try reaper.reap(worker: "dying", leaseMillis: 100), 2)
        XCTAssertEqual(try driver.queued().map(text), ["!3 @b", "!1 @a"], "marks counted up; the oldest is taken next")
        XCTAssertEqual(try driver.processing("dying"), [])
    }

    func checkReapBlamesOnlyTheItemBeingAdmitted() throws {
        try driver.push(["@a", "!1 @b"])
        let dying = driver.queue("dying")
        XCTAssertEqual(try dying.heartbeat(join: true, leaseMillis: 100), .alive)
        let taken = try dying.take(max: 2, maxBytes: budget)
        try dying.markAdmitting(sha1: Hex.string(Insecure.SHA1.hash(data: taken[1])))
        Thread.sleep(forTimeInterval: 0.25)
        let reaper = try joined("reaper")
        XCTAssertEqual(try reaper.reap(worker: "dying", leaseMillis: 100), 2)
        XCTAssertEqual(try driver.queued().map(text), ["!2 @b", "@a"], "only the suspect gains a mark")
    }

    func checkReapLeavesALiveWorkerAlone() throws {
        try driver.push(["@a"])
        let alive = try joined("alive")
        _ = try alive.take(max: 1, maxBytes: budget)
        let reaper = try joined("reaper")
        XCTAssertEqual(try reaper.reapCandidates(leaseMillis: lease), [])
        XCTAssertNil(try reaper.reap(worker: "alive", leaseMillis: lease))
        XCTAssertEqual(try driver.processing("alive").map(text), ["@a"])
        XCTAssertEqual(try driver.queue("alive").heartbeat(join: true, leaseMillis: lease), .idTaken,
                       "a second worker cannot join with a live worker's ID")
    }

    func checkTheSweepReapsAHolderThatIsNotRegistered() throws {
        // A worker that restored items without being registered (its registration was lost).
        let ghost = driver.queue("ghost")
        XCTAssertEqual(try ghost.restore([Array("@held".utf8)]), 1)
        let reaper = try joined("reaper")
        XCTAssertEqual(try reaper.reapCandidates(leaseMillis: lease), ["ghost"])
        XCTAssertEqual(try reaper.reap(worker: "ghost", leaseMillis: lease), 1)
        XCTAssertEqual(try driver.queued().map(text), ["!1 @held"])
        XCTAssertEqual(try reaper.reapCandidates(leaseMillis: lease), [], "swept once")
    }

    // MARK: Heartbeat and leaving

    func checkHeartbeatNeverReRegistersAReapedWorkerAndDeregisterWaitsForAnEmptyList() throws {
        let queue = driver.queue("w1")
        XCTAssertEqual(try queue.heartbeat(join: false, leaseMillis: lease), .unregistered)
        XCTAssertEqual(try queue.heartbeat(join: true, leaseMillis: lease), .alive)
        XCTAssertEqual(try queue.heartbeat(join: false, leaseMillis: lease), .alive)
        try driver.push(["@a"])
        _ = try queue.take(max: 1, maxBytes: budget)
        XCTAssertFalse(try queue.deregister(), "holding items, it stays registered for the reapers")
        XCTAssertEqual(try queue.handBack(), 1)
        XCTAssertTrue(try queue.deregister())
        XCTAssertEqual(try queue.heartbeat(join: false, leaseMillis: lease), .unregistered)
    }

    // MARK: Promote

    func checkPromoteMovesOnlyDueRetriesAndSaysWhenTheNextIsDue() throws {
        try driver.push(["@a", "@b"])
        let queue = try joined("w1")
        let taken = try queue.take(max: 2, maxBytes: budget)
        _ = try queue.settle([Settlement(ack: taken[0], outcomes: [.retry(after: 0, item: Array("@due".utf8))]),
                              Settlement(ack: taken[1], outcomes: [.retry(after: 60, item: Array("@later".utf8))])][...],
                             deadMax: 0)
        let promoted = try queue.promoteDue(limit: 10)
        XCTAssertEqual(promoted.moved, 1)
        let next = try XCTUnwrap(promoted.nextDueIn)
        XCTAssertEqual(next, 60, accuracy: 2)
        XCTAssertEqual(try driver.queued().map(text), ["@due"])
        XCTAssertEqual(try driver.delayedCount(), 1)
        XCTAssertEqual(try queue.promoteDue(limit: 10).moved, 0, "nothing else is due")
    }

    // MARK: Restore, release, hand-back

    func checkRestorePutsBackOnlyWhatIsMissingAndReleaseOnlyWhatIsHeld() throws {
        try driver.push(["@a", "@b"])
        let queue = try joined("w1")
        let taken = try queue.take(max: 2, maxBytes: budget)
        XCTAssertEqual(try queue.restore(taken + [Array("@lost".utf8)]), 1, "only the item the store lacks")
        XCTAssertEqual(Set(try queue.processingItems().map(text)), ["@a", "@b", "@lost"])
        XCTAssertEqual(try queue.release([Array("@a".utf8), Array("@never".utf8)]), 1, "only an item still held")
        XCTAssertEqual(try driver.queued().map(text), ["@a"])
        XCTAssertEqual(try queue.handBack(), 2)
        XCTAssertEqual(Set(try driver.queued().map(text)), ["@a", "@b", "@lost"])
        XCTAssertEqual(try driver.processing("w1"), [])
    }

    func checkPushQueuesAtTheProducersEnd() throws {
        try driver.push(["@old"])
        let queue = try joined("w1")
        try queue.push([Array("@new".utf8)])
        XCTAssertEqual(try driver.queued().map(text), ["@new", "@old"])
    }
}

final class MemoryDeliveryQueueContractTests: DeliveryQueueContract {
    override func makeDriver() throws -> any ContractDriver { MemoryContractDriver() }

    func testTakeIsRefusedWithCodeUnregisteredBeforeTheWorkerJoins() throws { try checkTakeIsRefusedWithCodeUnregisteredBeforeTheWorkerJoins() }
    func testTakeTagsRawEventsLeavesInternalItemsAndTakesOldestFirst() throws { try checkTakeTagsRawEventsLeavesInternalItemsAndTakesOldestFirst() }
    func testWaitForWorkTellsWhetherTheQueueHoldsSomethingAndTakesNothing() throws { try checkWaitForWorkTellsWhetherTheQueueHoldsSomethingAndTakesNothing() }
    func testTakeStopsAtItsCountAndByteBudgetButTakesAtLeastOne() throws { try checkTakeStopsAtItsCountAndByteBudgetButTakesAtLeastOne() }
    func testSettleWritesEachOutcomeAndReleasesTheItem() throws { try checkSettleWritesEachOutcomeAndReleasesTheItem() }
    func testSettleTrimsTheDeadListToItsCapOldestFirst() throws { try checkSettleTrimsTheDeadListToItsCapOldestFirst() }
    func testASettleAfterTheWorkerWasReapedIsFencedAndWritesNothing() throws { try checkASettleAfterTheWorkerWasReapedIsFencedAndWritesNothing() }
    func testTheAttemptLogIsWrittenWithTheSettleCappedByCountAndAgeAndFencedAlike() throws { try checkTheAttemptLogIsWrittenWithTheSettleCappedByCountAndAgeAndFencedAlike() }
    func testReapMarksEveryItemWithACrashWhenNothingWasBeingAdmitted() throws { try checkReapMarksEveryItemWithACrashWhenNothingWasBeingAdmitted() }
    func testReapBlamesOnlyTheItemBeingAdmitted() throws { try checkReapBlamesOnlyTheItemBeingAdmitted() }
    func testReapLeavesALiveWorkerAlone() throws { try checkReapLeavesALiveWorkerAlone() }
    func testTheSweepReapsAHolderThatIsNotRegistered() throws { try checkTheSweepReapsAHolderThatIsNotRegistered() }
    func testHeartbeatNeverReRegistersAReapedWorkerAndDeregisterWaitsForAnEmptyList() throws { try checkHeartbeatNeverReRegistersAReapedWorkerAndDeregisterWaitsForAnEmptyList() }
    func testPromoteMovesOnlyDueRetriesAndSaysWhenTheNextIsDue() throws { try checkPromoteMovesOnlyDueRetriesAndSaysWhenTheNextIsDue() }
    func testRestorePutsBackOnlyWhatIsMissingAndReleaseOnlyWhatIsHeld() throws { try checkRestorePutsBackOnlyWhatIsMissingAndReleaseOnlyWhatIsHeld() }
    func testPushQueuesAtTheProducersEnd() throws { try checkPushQueuesAtTheProducersEnd() }
}

final class RedisDeliveryQueueContractTests: DeliveryQueueContract {
    override func makeDriver() throws -> any ContractDriver { try RedisContractDriver() }

    func testTakeIsRefusedWithCodeUnregisteredBeforeTheWorkerJoins() throws { try checkTakeIsRefusedWithCodeUnregisteredBeforeTheWorkerJoins() }
    func testTakeTagsRawEventsLeavesInternalItemsAndTakesOldestFirst() throws { try checkTakeTagsRawEventsLeavesInternalItemsAndTakesOldestFirst() }
    func testWaitForWorkTellsWhetherTheQueueHoldsSomethingAndTakesNothing() throws { try checkWaitForWorkTellsWhetherTheQueueHoldsSomethingAndTakesNothing() }
    func testTakeStopsAtItsCountAndByteBudgetButTakesAtLeastOne() throws { try checkTakeStopsAtItsCountAndByteBudgetButTakesAtLeastOne() }
    func testSettleWritesEachOutcomeAndReleasesTheItem() throws { try checkSettleWritesEachOutcomeAndReleasesTheItem() }
    func testSettleTrimsTheDeadListToItsCapOldestFirst() throws { try checkSettleTrimsTheDeadListToItsCapOldestFirst() }
    func testASettleAfterTheWorkerWasReapedIsFencedAndWritesNothing() throws { try checkASettleAfterTheWorkerWasReapedIsFencedAndWritesNothing() }
    func testTheAttemptLogIsWrittenWithTheSettleCappedByCountAndAgeAndFencedAlike() throws { try checkTheAttemptLogIsWrittenWithTheSettleCappedByCountAndAgeAndFencedAlike() }
    func testReapMarksEveryItemWithACrashWhenNothingWasBeingAdmitted() throws { try checkReapMarksEveryItemWithACrashWhenNothingWasBeingAdmitted() }
    func testReapBlamesOnlyTheItemBeingAdmitted() throws { try checkReapBlamesOnlyTheItemBeingAdmitted() }
    func testReapLeavesALiveWorkerAlone() throws { try checkReapLeavesALiveWorkerAlone() }
    func testTheSweepReapsAHolderThatIsNotRegistered() throws { try checkTheSweepReapsAHolderThatIsNotRegistered() }
    func testHeartbeatNeverReRegistersAReapedWorkerAndDeregisterWaitsForAnEmptyList() throws { try checkHeartbeatNeverReRegistersAReapedWorkerAndDeregisterWaitsForAnEmptyList() }
    func testPromoteMovesOnlyDueRetriesAndSaysWhenTheNextIsDue() throws { try checkPromoteMovesOnlyDueRetriesAndSaysWhenTheNextIsDue() }
    func testRestorePutsBackOnlyWhatIsMissingAndReleaseOnlyWhatIsHeld() throws { try checkRestorePutsBackOnlyWhatIsMissingAndReleaseOnlyWhatIsHeld() }
    func testPushQueuesAtTheProducersEnd() throws { try checkPushQueuesAtTheProducersEnd() }
}
