import XCTest
@testable import WebhookCore

/// The attempt log's pure parts: records and their encodings, the filter, durations, and the
/// records the ledger attaches to settlements.
final class AttemptLogTests: XCTestCase {
    private let record = AttemptRecord(time: 1_764_761_642_123, webhookID: "msg_abc_w1", action: "user_created",
                                       user: "alice", endpoint: "billing", attempt: 2, outcome: .retry, status: 503,
                                       latencyMs: 41, errorClass: "status", response: "busy \"now\"\n")

    // MARK: Records

    func testStoredFormRoundTripsWithAndWithoutOptionals() throws {
        XCTAssertEqual(AttemptRecord(stored: record.stored()), record)
        let bare = AttemptRecord(time: 5, webhookID: "id", action: "a", user: "", endpoint: "e", attempt: 1, outcome: .held)
        XCTAssertEqual(String(decoding: bare.stored(), as: UTF8.self), #"[5,"id","a","","e",1,"held",null,null,null,""]"#)
        XCTAssertEqual(AttemptRecord(stored: bare.stored()), bare)
        let limited = AttemptRecord(time: 5, webhookID: "id", action: "a", user: "u", endpoint: "e", attempt: 1, outcome: .rateLimited)
        XCTAssertEqual(AttemptRecord(stored: limited.stored())?.outcome, .rateLimited)
    }

    /// A record whose texts need no escape is written in one pass into an array of its size;
    /// one that needs an escape is appended field by field. Both must give the bytes the
    /// field-by-field way gives (built here from `JSONWriter`'s primitives).
    func testEveryRecordIsWrittenExactlyAsFieldByFieldAppendsWriteIt() {
        func reference(_ r: AttemptRecord) -> [UInt8] {
            var out: [UInt8] = [UInt8(ascii: "[")]
            JSONWriter.appendInt(Int(clamping: r.time), to: &out)
            for text in [r.webhookID, r.action, r.user, r.endpoint] {
                out.append(UInt8(ascii: ","))
                JSONWriter.appendString(text, to: &out)
            }
            out.append(UInt8(ascii: ","))
            JSONWriter.appendInt(r.attempt, to: &out)
            out.append(UInt8(ascii: ","))
            JSONWriter.appendString(r.outcome.rawValue, to: &out)
            for number in [r.status, r.latencyMs] {
                out.append(UInt8(ascii: ","))
                if let number { JSONWriter.appendInt(number, to: &out) } else { out += Array("null".utf8) }
            }
            out.append(UInt8(ascii: ","))
            if let error = r.errorClass { JSONWriter.appendString(error, to: &out) } else { out += Array("null".utf8) }
            out.append(UInt8(ascii: ","))
            JSONWriter.appendString(r.response, to: &out)
            out.append(UInt8(ascii: "]"))
            return out
        }
        let records = [
            record,  // a response with a quote and a line feed: appended field by field
            AttemptRecord(time: 0, webhookID: "", action: "", user: "", endpoint: "", attempt: 0, outcome: .held),
            AttemptRecord(time: UInt64(Int.max), webhookID: "msg_0123456789abcdef01234567_w1a2b3c4", action: "user_created",
                          user: "élodie-ñ", endpoint: "billing 🚀", attempt: 123_456, outcome: .delivered, status: 200,
                          latencyMs: 0, response: "ok"),
            AttemptRecord(time: 9, webhookID: "id", action: "a", user: "u", endpoint: "e", attempt: -3, outcome: .dead,
                          status: 999, latencyMs: -1, errorClass: "timeout", response: String(repeating: "z", count: 256)),
            AttemptRecord(time: 10, webhookID: "id", action: "a\tb", user: "back\\slash", endpoint: "e", attempt: 1,
                          outcome: .retry, status: nil, latencyMs: 12, errorClass: "status", response: "\u{01}"),
        ]
        for r in records {
            XCTAssertEqual(String(decoding: r.stored(), as: UTF8.self), String(decoding: reference(r), as: UTF8.self))
            XCTAssertEqual(AttemptRecord(stored: r.stored()), r)
        }
        // One text needing an escape, every other plain: each escape at each place of a text of
        // 13 bytes (in its first eight-byte word and in the bytes after), in each text field.
        let plain = AttemptRecord(time: 1, webhookID: "id", action: "a", user: "u", endpoint: "e", attempt: 1, outcome: .retry,
                                  status: 500, latencyMs: 2, errorClass: "status", response: "r")
        let fields: [WritableKeyPath<AttemptRecord, String>] = [\.webhookID, \.action, \.user, \.endpoint, \.response]
        for escape in ["\"", "\\", "\n", "\u{1F}"] {
            for place in 0..<13 {
                var text = Array(repeating: "x", count: 13)
                text[place] = escape
                for field in fields {
                    var r = plain
                    r[keyPath: field] = text.joined()
                    XCTAssertEqual(r.stored(), reference(r), "\(field) \(place)")
                }
                var r = plain
                r.errorClass = text.joined()
                XCTAssertEqual(r.stored(), reference(r), "errorClass \(place)")
            }
        }
    }

    func testStoredFormRefusesWhatAWorkerDidNotWrite() {
        for text in ["", "{}", "[1,2]", #"[5,"id","a","","e",1,"exploded",null,null,null,""]"#,
                     #"[-5,"id","a","","e",1,"held",null,null,null,""]"#, #"[5,"id","a","","e","1","held",null,null,null,""]"#,
                     #"[5,"id","a","","e",1,"held",null,null,7,""]"#, "not json"] {
            XCTAssertNil(AttemptRecord(stored: Array(text.utf8)), text)
        }
    }

    func testJSONObjectHasEveryFieldAndEscapesText() throws {
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(record.json())) as? [String: Any])
        XCTAssertEqual(object["time"] as? Int, 1_764_761_642_123)
        XCTAssertEqual(object["time_iso"] as? String, "2025-12-03T11:34:02.123Z")
        XCTAssertEqual(object["webhook_id"] as? String, "msg_abc_w1")
        XCTAssertEqual(object["action"] as? String, "user_created")
        XCTAssertEqual(object["user"] as? String, "alice")
        XCTAssertEqual(object["endpoint"] as? String, "billing")
        XCTAssertEqual(object["attempt"] as? Int, 2)
        XCTAssertEqual(object["outcome"] as? String, "retry")
        XCTAssertEqual(object["status"] as? Int, 503)
        XCTAssertEqual(object["latency_ms"] as? Int, 41)
        XCTAssertEqual(object["error"] as? String, "status")
        XCTAssertEqual(object["response"] as? String, "busy \"now\"\n")
        XCTAssertFalse(record.json().contains(0x0A), "one object per line")
        let bare = AttemptRecord(time: 5, webhookID: "id", action: "a", user: "", endpoint: "e", attempt: 1, outcome: .held)
        let empty = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(bare.json())) as? [String: Any])
        XCTAssertTrue(empty["status"] is NSNull)
        XCTAssertTrue(empty["latency_ms"] is NSNull)
        XCTAssertTrue(empty["error"] is NSNull)
    }

    func testLineIsOneLineWhateverProducersAndReceiversWrote() {
        var hostile = record
        hostile.user = "eve\nFAKE delivered"
        hostile.response = "line1\r\nline2"
        let line = hostile.line
        XCTAssertFalse(line.contains("\n") || line.contains("\r"), line)
        XCTAssertTrue(line.hasPrefix("2025-12-03T11:34:02.123Z  retry  billing  user_created  "), line)
        XCTAssertTrue(line.contains("try 2  503  41ms  msg_abc_w1"), line)
    }

    func testExcerptKeepsTheFirst256BytesAndMasksSecrets() {
        let body = Array(("token=hunter22 " + String(repeating: "x", count: 400)).utf8)
        let excerpt = AttemptRecord.excerpt(body, secrets: ["hunter22", "ab"])
        XCTAssertTrue(excerpt.hasPrefix("token=*** x"), excerpt)
        XCTAssertEqual(excerpt.utf8.count, 256)
        // A secret straddling the cut is masked, not half shown.
        let straddling = Array((String(repeating: "y", count: 252) + "hunter22").utf8)
        XCTAssertFalse(AttemptRecord.excerpt(straddling, secrets: ["hunter22"]).contains("hunt"))
        // A multi-byte character is not cut in half.
        let accents = Array((String(repeating: "a", count: 255) + "é").utf8)
        XCTAssertEqual(AttemptRecord.excerpt(accents, secrets: []), String(repeating: "a", count: 255))
        XCTAssertEqual(AttemptRecord.excerpt([], secrets: ["x"]), "")
    }

    func testUserIsTheUsernameElseTheEventsKeyFields() throws {
        let marzban = try Event.parse(Array(#"{"action":"user_created","username":"alice","id":7}"#.utf8), maxBytes: 1000, now: 1)
        XCTAssertEqual(AttemptRecord.user(of: marzban), "alice")
        let other = try Event.parse(Array(#"{"action":"order_paid","username":"","id":7,"email":"b@x","nested":{"id":1}}"#.utf8),
                                    maxBytes: 1000, now: 1)
        XCTAssertEqual(AttemptRecord.user(of: other), "id=7,email=b@x")
    }

    // MARK: Filter and durations

    func testFilterConditionsCombine() {
        XCTAssertTrue(AttemptFilter.all.matches(record))
        XCTAssertTrue(AttemptFilter(endpoint: "billing", user: "alice", webhookID: "msg_abc_w1", action: "user_created",
                                    outcome: .retry, since: record.time).matches(record))
        XCTAssertFalse(AttemptFilter(endpoint: "ops").matches(record))
        XCTAssertFalse(AttemptFilter(user: "bob").matches(record))
        XCTAssertFalse(AttemptFilter(webhookID: "msg_other").matches(record))
        XCTAssertFalse(AttemptFilter(action: "user_deleted").matches(record))
        XCTAssertFalse(AttemptFilter(outcome: .delivered).matches(record))
        XCTAssertFalse(AttemptFilter(since: record.time + 1).matches(record))
        XCTAssertFalse(AttemptFilter(endpoint: "billing", user: "bob").matches(record), "every condition must hold")
    }

    func testSinceCountsBackFromNowAndNeverBelowZero() {
        XCTAssertEqual(AttemptFilter.since(seconds: 600, nowMillis: 1_000_000), 400_000)
        XCTAssertEqual(AttemptFilter.since(seconds: 1e12, nowMillis: 1_000), 0)
    }

    func testOutcomeArgumentsAcceptBothSpellingsOfRateLimited() {
        XCTAssertEqual(AttemptOutcome(argument: "rate_limited"), .rateLimited)
        XCTAssertEqual(AttemptOutcome(argument: "rate-limited"), .rateLimited)
        XCTAssertEqual(AttemptOutcome(argument: "DEAD"), .dead)
        XCTAssertNil(AttemptOutcome(argument: "gone"))
        XCTAssertEqual(AttemptOutcome.allCases.map(\.rawValue), ["delivered", "retry", "dead", "rate_limited", "held"])
    }

    func testDurations() {
        XCTAssertEqual(DurationText.seconds("10m"), 600)
        XCTAssertEqual(DurationText.seconds("24h"), 86_400)
        XCTAssertEqual(DurationText.seconds("2d"), 172_800)
        XCTAssertEqual(DurationText.seconds("250ms"), 0.25)
        XCTAssertEqual(DurationText.seconds("30"), 30)
        XCTAssertEqual(DurationText.seconds("1.5s"), 1.5)
        for bad in ["", "m", "-5m", "10 m", "ten", "5w", "1e3", ".", "inf"] {
            XCTAssertNil(DurationText.seconds(bad), bad)
        }
    }

    // MARK: Configuration

    func testLogVariables() throws {
        let defaults = try Configuration.load([:])
        XCTAssertEqual(defaults.attemptLog, AttemptLogConfiguration(maxRecords: 100_000, maxAge: nil))
        XCTAssertTrue(defaults.attemptLog.isOn)
        let set = try Configuration.load(["WEBHOOK_LOG_MAX": "0", "WEBHOOK_LOG_MAX_AGE": "24h"])
        XCTAssertEqual(set.attemptLog, AttemptLogConfiguration(maxRecords: 0, maxAge: 86_400))
        XCTAssertFalse(set.attemptLog.isOn)
        for (name, value) in [("WEBHOOK_LOG_MAX", "-1"), ("WEBHOOK_LOG_MAX", "lots"), ("WEBHOOK_LOG_MAX_AGE", "soon"),
                              ("WEBHOOK_LOG_MAX_AGE", "0")] {
            XCTAssertThrowsError(try Configuration.load([name: value]), "\(name)=\(value)") { error in
                XCTAssertEqual((error as? ConfigurationError)?.variable, name)
            }
        }
    }

    // MARK: The ledger's records

    private let auth = ItemAuthenticator(keyMaterial: Array("ledger-test-key-0123456789".utf8))
    private var random = SystemRandomNumberGenerator()

    private func records(_ settlement: Settlement) -> [AttemptRecord] {
        settlement.log.compactMap(AttemptRecord.init(stored:))
    }

    func testEachDecidedAttemptCarriesItsRecordWithItsSettlement() throws {
        let spec = EndpointSpec(name: "billing", kind: .webhook, url: "http://127.0.0.1:9001/", secrets: ["s3cret-value"])
        let billing = Target(spec: spec), other = Target(kind: .webhook, url: "http://127.0.0.1:9002/")
        var ledger = DeliveryLedger(settings: .init(targets: [billing, other], retry: RetryPolicy(retries: 1, delay: 5),
                                                    maxPayloadBytes: 1000, maxCrashes: 3, laggardSlack: 512, deferDelay: 30,
                                                    logAttempts: true, logSecrets: ["global-secret"]),
                                    authenticator: auth)
        let admission = ledger.admit([Array(#"#t1 {"action":"user_created","username":"alice"}"#.utf8)], now: 100)
        XCTAssertEqual(admission.attempts.count, 2)
        let tokens = admission.attempts.map { ledger.track(attempts: [$0]) }
        let first = ledger.complete(request: tokens[0], result: .status(500, retryAfter: nil, body: Array("no s3cret-value global-secret".utf8)),
                                    now: 101.5, random: &random, latencyMs: 12)
        XCTAssertTrue(first.settlements.isEmpty, "the record waits for its event's settle")
        let done = ledger.complete(request: tokens[1], result: .transportError(.connect, "refused"), now: 102, random: &random,
                                   latencyMs: 3)
        let settlement = try XCTUnwrap(done.settlements.first)
        let logged = records(settlement)
        XCTAssertEqual(logged.count, 2)
        XCTAssertEqual(logged[0], AttemptRecord(time: 101_500, webhookID: admission.attempts[0].webhookID, action: "user_created",
                                                user: "alice", endpoint: "billing", attempt: 1, outcome: .retry, status: 500,
                                                latencyMs: 12, errorClass: "status", response: "no *** ***"))
        XCTAssertEqual(logged[1].outcome, .retry)
        XCTAssertEqual(logged[1].errorClass, "connect")
        XCTAssertNil(logged[1].status)

        // The retries: one delivered, one dead (retries exhausted).
        let items = settlement.outcomes.compactMap { outcome -> [UInt8]? in
            if case .retry(_, let item) = outcome { return item }
            return nil
        }
        let again = ledger.admit(items, now: 110)
        let retried = again.attempts.map { ledger.track(attempts: [$0]) }
        let delivered = ledger.complete(request: retried[0], result: .status(200, retryAfter: nil, body: Array("ok".utf8)), now: 111, random: &random, latencyMs: 5)
        XCTAssertEqual(delivered.settlements.flatMap(records).map(\.outcome), [.delivered], "the first retry's event settles with its delivered record")
        let last = ledger.complete(request: retried[1], result: .status(503, retryAfter: nil, body: []), now: 111, random: &random, latencyMs: 5)
        let outcomes = last.settlements.flatMap(records)
        XCTAssertEqual(Set(outcomes.map(\.outcome)), [.dead], "the second retry's event settles with its dead record")
        XCTAssertEqual(outcomes.first?.attempt, 2)
    }

    func testHeldAndRejectedRecordsAndNoneWhenTheLogIsOff() throws {
        let target = Target(kind: .webhook, url: "http://127.0.0.1:9001/")
        var on = DeliveryLedger(settings: .init(targets: [target], retry: RetryPolicy(retries: 1, delay: 5), maxPayloadBytes: 1000,
                                                maxCrashes: 3, laggardSlack: 512, deferDelay: 30, maxHold: 60, logAttempts: true),
                                authenticator: auth)
        let admission = on.admit([Array(#"#t1 {"action":"user_created","username":"alice"}"#.utf8)], now: 100)
        let held = on.postpone(Postponement(admission.attempts[0], after: 2, reason: .open(endpoint: "x")), now: 100)
        XCTAssertEqual(held.settlements.flatMap(records).map(\.outcome), [.held])
        XCTAssertEqual(held.settlements.flatMap(records).first?.attempt, 1)
        // Held again while it waits (its item says since when): no second record.
        let item = try XCTUnwrap(held.settlements.first?.outcomes.first.flatMap { outcome -> [UInt8]? in
            if case .retry(_, let item) = outcome { return item }
            return nil
        })
        let waiting = on.admit([item], now: 102)
        XCTAssertGreaterThan(waiting.attempts.first?.heldSince ?? 0, 0)
        let again = on.postpone(Postponement(waiting.attempts[0], after: 2, reason: .open(endpoint: "x")), now: 102)
        XCTAssertEqual(again.settlements.count, 1)
        XCTAssertEqual(again.settlements.flatMap(records), [])

        var off = DeliveryLedger(settings: .init(targets: [target], retry: RetryPolicy(retries: 1, delay: 5), maxPayloadBytes: 1000,
                                                 maxCrashes: 3, laggardSlack: 512, deferDelay: 30),
                                 authenticator: auth)
        let quiet = off.admit([Array(#"#t1 {"action":"user_created","username":"alice"}"#.utf8)], now: 100)
        let token = off.track(attempts: quiet.attempts)
        let done = off.complete(request: token, result: .status(200, retryAfter: nil, body: []), now: 101, random: &random)
        XCTAssertEqual(done.settlements.count, 1)
        XCTAssertEqual(done.settlements[0].log, [], "no records (and no work for them) with WEBHOOK_LOG_MAX=0")
    }
}
