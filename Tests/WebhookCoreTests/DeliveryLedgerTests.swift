import XCTest
@testable import WebhookCore
import TestSupport

/// The delivery rules without Redis or threads: admit → attempts and immediate settlements;
/// complete → settlements once every target of an event is decided.
final class DeliveryLedgerTests: XCTestCase {
    private let auth = ItemAuthenticator(keyMaterial: Array("ledger-test-key-0123456789".utf8))
    private let a = Target(kind: .webhook, url: "http://127.0.0.1:9001/")
    private let b = Target(kind: .webhook, url: "http://127.0.0.1:9002/")
    private let discord = Target(kind: .discord, url: "https://discord.com/api/webhooks/1/token")
    private let event = #"{"action":"user_created","username":"alice","enqueued_at":1.5}"#
    private var random = SystemRandomNumberGenerator()

    private func ledger(_ targets: [Target], retries: Int = 3, maxCrashes: Int = 3, slack: Int = 512,
                        maxHold: Double = 3600) -> DeliveryLedger {
        DeliveryLedger(settings: .init(targets: targets, retry: RetryPolicy(retries: retries, delay: 180),
                                       maxPayloadBytes: 1_000, maxCrashes: maxCrashes, laggardSlack: slack, deferDelay: 30,
                                       maxHold: maxHold),
                       authenticator: auth)
    }

    private func tagged(_ tag: String = "tag1", _ raw: String? = nil) -> [UInt8] { Array("#\(tag) \(raw ?? event)".utf8) }

    /// Sends each attempt as its own request; returns the tokens in attempt order.
    private func send(_ attempts: [DeliveryLedger.Attempt], in ledger: inout DeliveryLedger) -> [UInt64] {
        attempts.map { attempt in
            ledger.track(attempts: [attempt])
        }
    }

    /// The settlement's one dead letter. Anything else fails the test (it must never turn into
    /// a skip: a regression that stops producing dead letters would pass a green run unseen).
    private func deadLetter(_ settlement: Settlement, file: StaticString = #filePath, line: UInt = #line) throws -> DeadLetter {
        guard settlement.outcomes.count == 1, case .dead(let entry) = settlement.outcomes[0] else {
            XCTFail("not one dead letter: \(settlement.outcomes)", file: file, line: line)
            throw NotOneDeadLetter()
        }
        return try DeadLetter(decoding: entry)
    }

    private struct NotOneDeadLetter: Error {}

    private func delivery(_ item: [UInt8]) -> Delivery? {
        if case .delivery(let delivery) = QueueItem.parse(item, authenticator: auth).item { return delivery }
        return nil
    }

    func testAnEventGoesToEveryTargetAndSettlesOnceAllAnswered() {
        var ledger = ledger([a, b])
        let stored = tagged()
        let admission = ledger.admit([stored], now: 100)
        XCTAssertEqual(admission.attempts.map(\.target), [a, b])
        XCTAssertTrue(admission.settlements.isEmpty)
        XCTAssertEqual(admission.attempts.map(\.webhookID),
                       [a, b].map { auth.webhookID(tag: Array("tag1".utf8), raw: Array(event.utf8), target: $0) })
        let tokens = send(admission.attempts, in: &ledger)
        let first = ledger.complete(request: tokens[0], result: .status(200, retryAfter: nil, body: []), now: 101, random: &random)
        XCTAssertTrue(first.settlements.isEmpty, "the other target is still pending")
        let second = ledger.complete(request: tokens[1], result: .status(204, retryAfter: nil, body: []), now: 101, random: &random)
        XCTAssertEqual(second.settlements.count, 1)
        XCTAssertEqual(second.settlements[0].ack, stored)
        XCTAssertEqual(second.settlements[0].outcomes, [])
        XCTAssertEqual(ledger.heldEvents, 0)
        XCTAssertEqual(second.notes.map(\.kind), [.delivered])
    }

    func testOneTargetsFailureIsRetriedForThatTargetOnly() throws {
        var ledger = ledger([a, b])
        let admission = ledger.admit([tagged()], now: 100)
        let tokens = send(admission.attempts, in: &ledger)
        _ = ledger.complete(request: tokens[0], result: .status(500, retryAfter: nil, body: []), now: 101, random: &random)
        let done = ledger.complete(request: tokens[1], result: .status(200, retryAfter: nil, body: []), now: 101, random: &random)
        guard case .retry(let after, let item) = done.settlements.first?.outcomes.first, done.settlements[0].outcomes.count == 1 else {
            return XCTFail("\(done.settlements)")
        }
        XCTAssertEqual(after, 180)
        let retry = try XCTUnwrap(delivery(item))
        XCTAssertEqual(retry.tries, 1)
        XCTAssertEqual(retry.targetID, a.id)
        XCTAssertEqual(retry.webhookID, admission.attempts[0].webhookID, "same webhook-id on every attempt")
        XCTAssertEqual(Array(retry.raw), Array(event.utf8))
    }

    /// A breaker announcement's item is written by the ledger (one home for minting a
    /// delivery): a delivery of the event to its target, no try spent, fenced to the target's
    /// URL, with a webhook-id minted from the randomness passed in.
    func testAnAnnouncementIsADeliveryWithAnIDFromTheGivenRandomness() throws {
        var ledger = ledger([a])
        var seeded = SplitMix64(seed: 7), same = SplitMix64(seed: 7), other = SplitMix64(seed: 8)
        let item = ledger.announcement(Array(event.utf8), to: a, random: &seeded)
        XCTAssertEqual(item, ledger.announcement(Array(event.utf8), to: a, random: &same), "the randomness is an input")
        XCTAssertNotEqual(item, ledger.announcement(Array(event.utf8), to: a, random: &other))
        let admission = ledger.admit([item], now: 100)
        let attempt = try XCTUnwrap(admission.attempts.first)
        XCTAssertEqual(admission.attempts.count, 1)
        XCTAssertEqual(attempt.tries, 0)
        XCTAssertEqual(attempt.target.id, a.id)
        XCTAssertTrue(attempt.webhookID.hasPrefix(WebhookID.prefix) && attempt.webhookID.hasSuffix("_\(a.id)"), attempt.webhookID)
    }

    /// Which attempts share a request is the ledger's rule: a webhook endpoint in Marzban mode
    /// (its own `compat`, else WEBHOOK_COMPAT) batches; a standard one, Discord and Telegram
    /// never do. The gate and the request builder only read `batched`.
    func testMarzbanModeWebhookAttemptsAreBatchedByTheLedger() {
        let standard = Target(spec: EndpointSpec(name: "standard", kind: .webhook, url: "http://127.0.0.1:9100/s", compat: .standard))
        let marzban = Target(spec: EndpointSpec(name: "marzban", kind: .webhook, url: "http://127.0.0.1:9100/m", compat: .marzban))
        let inherits = Target(kind: .webhook, url: "http://127.0.0.1:9100/i")
        let discord = Target(kind: .discord, url: "https://discord.com/api/webhooks/1/x")
        var ledger = DeliveryLedger(settings: .init(targets: [standard, marzban, inherits, discord],
                                                    retry: RetryPolicy(retries: 3, delay: 180), maxPayloadBytes: 1_000,
                                                    maxCrashes: 3, laggardSlack: 512, deferDelay: 30, compat: .marzban),
                                    authenticator: auth)
        let admitted = ledger.admit([tagged()], now: 100).attempts
        XCTAssertEqual(Dictionary(uniqueKeysWithValues: admitted.map { ($0.target.id, $0.batched) }),
                       [standard.id: false, marzban.id: true, inherits.id: true, discord.id: false])
    }

    func testTheLastFailedAttemptBecomesADeadLetter() throws {
        var ledger = ledger([a], retries: 3)
        let item = QueueItem.encode(Delivery(webhookID: "msg_x_\(a.id)", tries: 3, targetID: a.id, raw: Array(event.utf8)[...]),
                                    authenticator: auth)
        let admission = ledger.admit([item], now: 100)
        XCTAssertEqual(admission.attempts.map(\.tries), [3])
        let tokens = send(admission.attempts, in: &ledger)
        let done = ledger.complete(request: tokens[0], result: .transportError(.connect, "Connection refused"), now: 200, random: &random)
        let letter = try deadLetter(done.settlements[0])
        XCTAssertEqual(letter.attempts, 4)
        XCTAssertEqual(letter.targetID, a.id)
        XCTAssertEqual(letter.webhookID, "msg_x_\(a.id)")
        XCTAssertEqual(letter.lastError, "Connection refused")
        XCTAssertTrue(letter.reason.contains("gave up after 4 attempts"), letter.reason)
        XCTAssertEqual(done.notes.map(\.cause), [.failed(.connect)], "the failure's class travels typed, not as text")
        XCTAssertEqual(done.settlements[0].ack, item)
    }

    func testForgedDeliveriesReachNoURL() throws {
        var ledger = ledger([a])
        // A producer writes a delivery naming a configured target, and one naming its own URL.
        let forged = [#"@00000000000000000000000000000000 msg_x 0 \#(a.id) 0.0 \#(event)"#,
                      #"@msg_x 0 w http://evil.example/ \#(event)"#].map { Array($0.utf8) }
        let admission = ledger.admit(forged, now: 1)
        XCTAssertTrue(admission.attempts.isEmpty)
        XCTAssertEqual(admission.settlements.count, 2)
        for settlement in admission.settlements {
            let letter = try deadLetter(settlement)
            XCTAssertTrue(letter.reason.contains("forged"), letter.reason)
            XCTAssertNil(letter.targetID)
        }
    }

    func testADeliveryForARemovedEndpointBecomesADeadLetter() throws {
        var ledger = ledger([a])
        let item = QueueItem.encode(Delivery(webhookID: "msg_x_\(b.id)", tries: 1, targetID: b.id, raw: Array(event.utf8)[...]),
                                    authenticator: auth)
        let admission = ledger.admit([item], now: 1)
        XCTAssertTrue(admission.attempts.isEmpty)
        let letter = try deadLetter(admission.settlements[0])
        XCTAssertTrue(letter.reason.contains("no longer configured"), letter.reason)
        XCTAssertTrue(letter.reason.contains(b.id))
        XCTAssertEqual(Array(letter.payload), Array(event.utf8))
    }

    func testAnItemWhoseHoldersDiedTooOftenIsSetAside() throws {
        var ledger = ledger([a], maxCrashes: 3)
        let twice = Array("!2 ".utf8) + tagged("t2")
        let thrice = Array("!3 ".utf8) + tagged("t3")
        let admission = ledger.admit([twice, thrice], now: 1)
        XCTAssertEqual(admission.attempts.count, 1, "below the limit: delivered as usual")
        let letter = try deadLetter(admission.settlements[0])
        XCTAssertEqual(admission.settlements[0].ack, thrice)
        XCTAssertTrue(letter.reason.contains("died 3 times"), letter.reason)
        XCTAssertEqual(Array(letter.payload), Array(event.utf8), "the payload, without tag or mark")
    }

    func testMalformedAndOversizeEvents() throws {
        var ledger = ledger([a])
        let big = #"{"action":"a","username":"u","pad":""# + String(repeating: "x", count: 5_000) + #""}"#
        let admission = ledger.admit([tagged("t", "not json"), tagged("t", #"{"username":"u"}"#), tagged("t", big)], now: 1)
        XCTAssertTrue(admission.attempts.isEmpty)
        let letters = try admission.settlements.map { try deadLetter($0) }
        XCTAssertTrue(letters[0].reason.hasPrefix("malformed event: not JSON"), letters[0].reason)
        XCTAssertTrue(letters[1].reason.contains("action"), letters[1].reason)
        XCTAssertTrue(letters[2].reason.contains("too large"), letters[2].reason)
        XCTAssertEqual(letters[2].truncated?.length, big.utf8.count)
        XCTAssertEqual(letters[2].payload.count, DeadLetter.truncatedPrefix)
    }

    func testAHungTargetsNewDeliveriesAreDeferredWithoutATry() throws {
        var ledger = ledger([a, b], slack: 2)
        var deferred: [[UInt8]] = []
        for index in 0..<4 {
            let admission = ledger.admit([tagged("t\(index)")], now: 1)
            let tokens = send(admission.attempts, in: &ledger)
            // b answers at once, a never does.
            for (attempt, token) in zip(admission.attempts, tokens) where attempt.target == b {
                let done = ledger.complete(request: token, result: .status(200, retryAfter: nil, body: []), now: 1, random: &random)
                deferred += done.settlements.flatMap(\.outcomes).compactMap { if case .retry(_, let item) = $0 { item } else { nil } }
            }
        }
        XCTAssertEqual(ledger.backlog(of: a), 2, "a stops growing once it is `slack` ahead")
        XCTAssertEqual(deferred.count, 2)
        for item in deferred {
            let parked = try XCTUnwrap(delivery(item))
            XCTAssertEqual(parked.tries, 0, "deferring spends no try")
            XCTAssertEqual(parked.targetID, a.id)
        }
    }

    /// A burst admitted before anybody answered is all sent; once `b` answers, `a` lags, and
    /// its withdrawn attempts are parked with their tries, hold and slot unchanged.
    func testABurstSentBeforeAnyAnswerMakesALaggardOnceOthersAnswer() throws {
        var ledger = ledger([a, b], slack: 2)
        let item = QueueItem.encode(Delivery(webhookID: "msg_w_\(a.id)", tries: 1, targetID: a.id, rateLimits: 2,
                                             heldSince: 0.5, slot: 7.25, raw: Array(event.utf8)[...]), authenticator: auth)
        var burst = ledger.admit([item], now: 1).attempts
        for index in 0..<3 { burst += ledger.admit([tagged("t\(index)")], now: 1).attempts }
        XCTAssertEqual(burst.filter { $0.target == a }.count, 4, "nobody answered yet: nothing is deferred")
        XCTAssertTrue(ledger.laggards(now: 1).isEmpty, "nobody to lag behind")
        let tokens = send(burst, in: &ledger)
        for (attempt, token) in zip(burst, tokens) where attempt.target == b {
            _ = ledger.complete(request: token, result: .status(200, retryAfter: nil, body: []), now: 2, random: &random)
        }
        let lagging = ledger.laggards(now: 2)
        XCTAssertEqual(lagging.map(\.target), [a])
        XCTAssertEqual(lagging.map(\.backlog), [4])

        let first = try XCTUnwrap(zip(burst, tokens).first { $0.0.target == a }?.1)
        let done = ledger.complete(request: first, result: .withdrawn, now: 2, random: &random)
        XCTAssertEqual(done.notes.map(\.kind), [.deferred])
        guard case .retry(let after, let back) = done.settlements.first?.outcomes.first else { return XCTFail("\(done.settlements)") }
        XCTAssertEqual(after, 30, "parked for the defer delay")
        let parked = try XCTUnwrap(delivery(back))
        XCTAssertEqual([parked.tries, parked.rateLimits], [1, 2])
        XCTAssertEqual(parked.heldSince, 0.5)
        XCTAssertEqual(parked.slot, 7.25)
        XCTAssertEqual(ledger.backlog(of: a), 3)
        XCTAssertTrue(ledger.laggards(now: 40).isEmpty, "b has not answered within the defer delay: it measures nothing")
    }

    // MARK: The laggard rule counts only targets that are taking deliveries

    private func named(_ name: String, actions: Set<String>? = nil, rate: String? = nil) -> Target {
        Target(spec: EndpointSpec(name: name, kind: .webhook, url: "http://127.0.0.1:9100/\(name)", actions: actions,
                                  rate: rate.flatMap(RateLimit.init(parsing:))))
    }

    /// Admits `count` events one at a time, nothing answering `a`; the neighbour's attempts are
    /// handed to `neighbour` (answer, hold, or leave in flight). Returns how many of `a`'s
    /// deliveries were deferred.
    private func burst(_ count: Int, to a: Target, in ledger: inout DeliveryLedger, start: Double = 10,
                       neighbour: (DeliveryLedger.Attempt, UInt64, inout DeliveryLedger, Double) -> Void) -> Int {
        var deferred = 0
        for index in 0..<count {
            let now = start + Double(index) * 0.01
            let admission = ledger.admit([tagged("b\(index)")], now: now)
            deferred += admission.notes.filter { $0.kind == .deferred && $0.target == a }.count
            for attempt in admission.attempts where attempt.target != a {
                let token = ledger.track(attempts: [attempt])
                neighbour(attempt, token, &ledger, now)
            }
            for attempt in admission.attempts where attempt.target == a {
                _ = ledger.track(attempts: [attempt])  // in flight: a burst, not a hang
            }
        }
        return deferred
    }

    func testANeighbourWhoseActionsNeverMatchDoesNotMakeALaggard() {
        let a = named("a"), filtered = named("filtered", actions: ["never_sent"])
        var ledger = ledger([a, filtered], slack: 2)
        let deferred = burst(20, to: a, in: &ledger) { _, _, _, _ in XCTFail("the filtered endpoint gets nothing") }
        XCTAssertEqual(deferred, 0, "an endpoint that takes none of these events is no measure of speed")
        XCTAssertEqual(ledger.backlog(of: a), 20)
    }

    func testAPausedNeighbourDoesNotMakeALaggard() {
        let a = named("a"), paused = named("paused")
        var ledger = ledger([a, paused], slack: 2)
        let deferred = burst(20, to: a, in: &ledger) { attempt, _, ledger, now in
            _ = ledger.postpone(Postponement(attempt, after: 30, reason: .paused(endpoint: "paused")), now: now)
        }
        XCTAssertEqual(deferred, 0, "a held endpoint takes no deliveries")
    }

    func testAnOpenNeighbourDoesNotMakeALaggard() {
        let a = named("a"), open = named("open")
        var ledger = ledger([a, open], slack: 2)
        // It answered (failures, until its breaker opened), and is held since.
        let answered = burst(1, to: a, in: &ledger) { _, token, ledger, now in
            _ = ledger.complete(request: token, result: .status(503, retryAfter: nil, body: []), now: now, random: &random)
        }
        XCTAssertEqual(answered, 0)
        let deferred = burst(20, to: a, in: &ledger, start: 11) { attempt, _, ledger, now in
            _ = ledger.postpone(Postponement(attempt, after: 30, reason: .open(endpoint: "open")), now: now)
        }
        XCTAssertEqual(deferred, 0, "held since its last answer: not taking deliveries")
    }

    func testARateLimitedNeighbourDoesNotMakeALaggard() {
        let a = named("a"), limited = named("limited", rate: "30/m")
        var ledger = ledger([a, limited], slack: 2)
        // Its limit paces it: some attempts go and are answered at once, the rest wait.
        let deferred = burst(20, to: a, in: &ledger) { attempt, token, ledger, now in
            if Int(now * 100) % 4 == 0 {
                _ = ledger.complete(request: token, result: .status(200, retryAfter: nil, body: []), now: now, random: &random)
            } else {
                _ = ledger.postpone(Postponement(attempt, after: 2, reason: .rateLimited(endpoint: "limited", rate: RateLimit(parsing: "30/m")!)),
                                    now: now)
            }
        }
        XCTAssertEqual(deferred, 0, "a rate-limited endpoint's pace is its limit's, not a measure of the others")
    }

    // MARK: Holds are measured

    func testShortWaitsCountAsTheTimeReallyHeldNotASecondEach() throws {
        let limited = named("limited", rate: "10/s")
        var ledger = ledger([limited], maxHold: 120)
        var item = tagged()
        var now = 1000.0
        // 300 waits of 50 ms: 15 s held, far below the bound of 120 s.
        for round in 0..<300 {
            let attempt = try XCTUnwrap(ledger.admit([item], now: now).attempts.first)
            let done = ledger.postpone(Postponement(attempt, after: 0.05, reason: .rateLimited(endpoint: "limited", rate: RateLimit(parsing: "10/s")!)),
                                       now: now)
            guard case .retry(_, let next) = done.settlements.first?.outcomes.first else {
                return XCTFail("wait \(round) after \(now - 1000) s: \(done.notes.map(\.reason))")
            }
            item = next
            now += 0.05
        }
        // Really held past the bound: a dead letter.
        let attempt = try XCTUnwrap(ledger.admit([item], now: 1121).attempts.first)
        let done = ledger.postpone(Postponement(attempt, after: 0.05, reason: .rateLimited(endpoint: "limited", rate: RateLimit(parsing: "10/s")!)),
                                   now: 1121)
        let letter = try deadLetter(done.settlements[0])
        XCTAssertTrue(letter.reason.hasPrefix("held for more than 120 s"), letter.reason)
        XCTAssertEqual(done.notes.map(\.cause), [.heldTooLong], "typed: the breaker does not count it as the endpoint's failure")
        XCTAssertEqual(done.notes.map(\.reachedEndpoint), [false])
    }

    func testCancelledAttemptsAreHandedBackWithTheirTries() throws {
        var ledger = ledger([a])
        let item = QueueItem.encode(Delivery(webhookID: "msg_x_\(a.id)", tries: 2, targetID: a.id, raw: Array(event.utf8)[...]),
                                    authenticator: auth)
        let tokens = send(ledger.admit([item], now: 1).attempts, in: &ledger)
        let done = ledger.complete(request: tokens[0], result: .cancelled, now: 2, random: &random)
        guard case .requeue(let back) = done.settlements[0].outcomes.first else { return XCTFail("\(done.settlements)") }
        XCTAssertEqual(try XCTUnwrap(delivery(back)).tries, 2)
        XCTAssertEqual(done.notes.map(\.kind), [.handedBack])
    }

    func testDiscordRateLimitsAreCountedInTheItemNotAsTries() throws {
        var ledger = ledger([discord])
        let tokens = send(ledger.admit([tagged()], now: 1).attempts, in: &ledger)
        let done = ledger.complete(request: tokens[0], result: .status(429, retryAfter: nil, body: Array(#"{"retry_after":0}"#.utf8)),
                                   now: 2, random: &random)
        guard case .retry(let after, let item) = done.settlements[0].outcomes.first else { return XCTFail("\(done.settlements)") }
        XCTAssertEqual(after, RetryPolicy.rateLimitFloor, "retry_after 0 still waits the floor")
        let parked = try XCTUnwrap(delivery(item))
        XCTAssertEqual(parked.tries, 0)
        XCTAssertEqual(parked.rateLimits, 1)
        XCTAssertEqual(parked.heldSince, 2, "held since this answer (the ledger's now)")
        // The next 429 waits twice as long.
        var again = self.ledger([discord])
        let next = send(again.admit([item], now: 3).attempts, in: &again)
        let second = again.complete(request: next[0], result: .status(429, retryAfter: nil, body: Array(#"{"retry_after":0}"#.utf8)),
                                    now: 4, random: &random)
        guard case .retry(let longer, _) = second.settlements[0].outcomes.first else { return XCTFail("\(second.settlements)") }
        XCTAssertEqual(longer, 2 * RetryPolicy.rateLimitFloor)
    }

    func testABatchedRequestDecidesEveryEventItCarries() {
        var ledger = ledger([a])
        let admission = ledger.admit([tagged("t1"), tagged("t2")], now: 1)
        let token = ledger.track(attempts: admission.attempts)
        let done = ledger.complete(request: token, result: .status(200, retryAfter: nil, body: []), now: 2, random: &random)
        XCTAssertEqual(done.settlements.count, 2)
        XCTAssertEqual(ledger.heldEvents, 0)
        XCTAssertTrue(ledger.complete(request: 77, result: .status(200, retryAfter: nil, body: []), now: 2, random: &random)
            .settlements.isEmpty, "an unknown request changes nothing")
    }

    func testNoTargetsAcknowledgesWithoutDelivery() {
        var ledger = ledger([])
        let admission = ledger.admit([tagged()], now: 1)
        XCTAssertTrue(admission.attempts.isEmpty)
        XCTAssertEqual(admission.settlements.map(\.outcomes), [[]])
    }
}
