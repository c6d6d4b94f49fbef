import XCTest
@testable import WebhookCore

/// The ledger's rules for ordered endpoints: a fanned-out event skips them, a claim is decided as
/// a whole, and a failing head gives way (as "ordered: skipped ahead") at order_max_block or at
/// its last try.
final class DeliveryLedgerOrderedTests: XCTestCase {
    private let auth = ItemAuthenticator(keyMaterial: Array("ledger-test-key-0123456789".utf8))
    private let plain = Target(kind: .webhook, url: "http://127.0.0.1:9001/")
    private lazy var ordered: Target = {
        var spec = EndpointSpec(name: "ordered", kind: .webhook, url: "http://127.0.0.1:9002/")
        spec.ordering = OrderingSpec(key: "username", maxBlock: 60)
        return Target(spec: spec)
    }()
    private var random = SystemRandomNumberGenerator()

    private func ledger(retries: Int = 3) -> DeliveryLedger {
        DeliveryLedger(settings: .init(targets: [plain, ordered], retry: RetryPolicy(retries: retries, delay: 10),
                                       maxPayloadBytes: 1_000, maxCrashes: 3, laggardSlack: 512, deferDelay: 30),
                       authenticator: auth)
    }

    private func event(_ n: Int) -> String { #"{"action":"user_modified","username":"alice","seq":\#(n)}"# }

    private func claim(_ items: [String], blockedSince: Double = 0) -> OrderedClaim {
        OrderedClaim(targetID: ordered.id, key: "alice", token: "t1", blockedSince: blockedSince,
                     members: items.enumerated().map { index, item in
                         Array("alice\0\(String(format: "%016d", index + 1))\0".utf8) + Array(item.utf8)
                     })
    }

    private func complete(_ attempts: [DeliveryLedger.Attempt], status: Int, now: Double,
                          in ledger: inout DeliveryLedger) -> DeliveryLedger.Completion {
        let token = ledger.track(attempts: attempts)
        return ledger.complete(request: token, result: .status(status, retryAfter: nil, body: []), now: now, random: &random)
    }

    func testAFannedOutEventGoesOnlyToTheUnorderedEndpoints() {
        var ledger = ledger()
        XCTAssertEqual(ledger.admit([Array("#abc~o \(event(0))".utf8)], now: 100).attempts.map(\.target), [plain])
        XCTAssertEqual(ledger.admit([Array("#abd \(event(0))".utf8)], now: 100).attempts.map(\.target), [plain, ordered],
                       "an event the take did not fan out still reaches the ordered endpoint")
    }

    func testAClaimSharesTheWebhookIDOfItsEventAndSettlesDeliveredAsNoWrite() throws {
        var ledger = ledger()
        let admission = ledger.admitOrdered(claim(["#abc~o \(event(0))"]), target: ordered, now: 100, sendBy: 5)
        let attempt = try XCTUnwrap(admission.attempts.first)
        XCTAssertEqual(attempt.webhookID, auth.webhookID(tag: Array("abc~o".utf8), raw: Array(event(0).utf8), target: ordered))
        XCTAssertEqual(attempt.order?.sendBy, 5)
        let done = complete(admission.attempts, status: 200, now: 101, in: &ledger)
        let settlement = try XCTUnwrap(done.settlements.first?.ordered)
        XCTAssertEqual(settlement.claim.token, "t1")
        XCTAssertEqual(settlement.outcomes.count, 1)
        XCTAssertNil(settlement.outcomes[0], "delivered: the head leaves the key")
        XCTAssertFalse(settlement.failing)
    }

    func testAFailedHeadIsRetriedInPlaceAndMarksItsKeyBlocked() throws {
        var ledger = ledger()
        let admission = ledger.admitOrdered(claim(["#abc~o \(event(0))"]), target: ordered, now: 100, sendBy: 5)
        let settlement = try XCTUnwrap(complete(admission.attempts, status: 500, now: 101, in: &ledger).settlements.first?.ordered)
        guard case .retry(_, let item)? = settlement.outcomes[0],
              case .delivery(let delivery) = QueueItem.parse(item, authenticator: auth).item else {
            return XCTFail("expected a retry: \(settlement.outcomes)")
        }
        XCTAssertEqual(delivery.tries, 1)
        XCTAssertEqual(delivery.targetID, ordered.id)
        XCTAssertTrue(settlement.failing)
    }

    func testAHeadBlockedPastOrderMaxBlockBecomesASkippedAheadDeadLetter() throws {
        var ledger = ledger()
        // Blocked since 100; order_max_block 60 s; a retry 10 s after 155 would end at 165.
        let admission = ledger.admitOrdered(claim(["#abc~o \(event(0))"], blockedSince: 100), target: ordered, now: 155, sendBy: 5)
        let settlement = try XCTUnwrap(complete(admission.attempts, status: 500, now: 155, in: &ledger).settlements.first?.ordered)
        guard case .dead(let entry)? = settlement.outcomes[0] else { return XCTFail("expected a dead letter: \(settlement.outcomes)") }
        let letter = try DeadLetter(decoding: entry)
        XCTAssertTrue(letter.reason.hasPrefix(OrderingSpec.skippedAhead), letter.reason)
        XCTAssertTrue(letter.reason.contains("out of order"), letter.reason)
    }

    func testTheLastTryOfAHeadIsASkippedAheadDeadLetter() throws {
        var ledger = ledger(retries: 0)
        let admission = ledger.admitOrdered(claim(["#abc~o \(event(0))"]), target: ordered, now: 100, sendBy: 5)
        let settlement = try XCTUnwrap(complete(admission.attempts, status: 500, now: 101, in: &ledger).settlements.first?.ordered)
        guard case .dead(let entry)? = settlement.outcomes[0] else { return XCTFail("expected a dead letter: \(settlement.outcomes)") }
        XCTAssertTrue(try DeadLetter(decoding: entry).reason.hasPrefix(OrderingSpec.skippedAhead))
    }

    func testAMarzbanBatchClaimIsDecidedAsAWholeAndForgedEntriesAreDeadLetters() throws {
        var ledger = ledger()
        let admission = ledger.admitOrdered(claim(["#a~o \(event(0))", "@forged x 0 y 0.0.0 \(event(1))", "#b~o \(event(2))"]),
                                            target: ordered, now: 100, sendBy: 5)
        XCTAssertEqual(admission.attempts.map(\.order?.index), [0, 2])
        XCTAssertTrue(admission.settlements.isEmpty, "decided once every member is")
        let settlement = try XCTUnwrap(complete(admission.attempts, status: 200, now: 101, in: &ledger).settlements.first?.ordered)
        XCTAssertNil(settlement.outcomes[0])
        guard case .dead? = settlement.outcomes[1] else { return XCTFail("the forged entry: \(settlement.outcomes)") }
        XCTAssertNil(settlement.outcomes[2])
    }
}
