import Foundation
import TestSupport
import XCTest

/// The Marzban bridge against a real redis-server and real HTTP on 127.0.0.1: authentication,
/// validation and limits. Signatures are literals computed outside the project (Python's hmac);
/// Redis is read with redis-cli.
final class IngestServerTests: IngestServerTestCase {
    static let secret = "something-very-very-secret"

    // Two events as Marzban 0.8.4 sends them (field order, nesting and spacing kept), one POST.
    static let first = #"{"enqueued_at": 1680506457.636369, "send_at": 1680506457.636369, "tries": 0, "username": "example_user", "action": "user_created", "by": {"username": "admin", "is_sudo": true, "telegram_id": null}}"#
    static let second = #"{"username":"other","action":"user_limited","user":{"used_traffic":10,"data_limit":10,"note":"caf\u00e9 \"quoted\""}}"#
    /// hmac.new(secret, first, sha256).hexdigest() and the same for `second`, from Python.
    static let firstHMAC = "a0415abf6992cf1d46f46046d19fd079ec0c98370a5f925c0199c341e441bca8"
    static let secondHMAC = "2b0c0d990eea83b4abd933e38335982b9844a4eaaf2cce08e1de024629a7f2cc"

    private var first: String { Self.first }
    private var second: String { Self.second }
    private var secret: String { Self.secret }

    private func start(maxBytes: Int = 1_048_576, variables: [String: String] = [:]) async throws -> IngestUnderTest {
        let started = try await IngestUnderTest.start(redis: redis, secret: secret, maxBytes: maxBytes, variables: variables)
        server = started
        return started
    }

    func testMarzbanArrayWithRawSecretLandsVerbatim() async throws {
        let server = try await start()
        let (status, answer) = try await server.post(body: "[\(first), \(second)]", secret: secret)
        XCTAssertEqual(status, 202, answer)
        XCTAssertEqual(answer, #"{"enqueued":2}"#)
        // LPUSH puts the last event at the head; the worker takes from the tail: body order.
        XCTAssertEqual(try server.queue(redis), [second, first])
    }

    func testSingleObjectAndHMACHeaderAccepted() async throws {
        let server = try await start()
        let (status, answer) = try await server.post(body: first, secret: Self.firstHMAC)
        XCTAssertEqual(status, 202, answer)
        XCTAssertEqual(answer, #"{"enqueued":1}"#)
        XCTAssertEqual(try server.queue(redis), [first])
        let (other, otherAnswer) = try await server.post(body: second, secret: Self.secondHMAC)
        XCTAssertEqual(other, 202, otherAnswer)
        XCTAssertEqual(try server.queue(redis), [second, first])

        let (emptyStatus, emptyAnswer) = try await server.post(body: "[]", secret: secret)
        XCTAssertEqual(emptyStatus, 202)
        XCTAssertEqual(emptyAnswer, #"{"enqueued":0}"#)
        XCTAssertEqual(try server.queue(redis), [second, first])
    }

    func testWrongOrMissingSecretIs401AndEnqueuesNothing() async throws {
        let server = try await start()
        let body = "[\(first)]"
        for header in ["wrong", secret + "x", String(secret.dropLast()), nil] as [String?] {
            let (status, answer) = try await server.post(body: body, secret: header)
            XCTAssertEqual(status, 401, "header \(header ?? "missing")")
            XCTAssertEqual(answer, #"{"error":"invalid secret"}"#)
        }
        // An HMAC of some other body does not authenticate this one.
        let (status, _) = try await server.post(body: first, secret: Self.secondHMAC)
        XCTAssertEqual(status, 401)
        XCTAssertEqual(try server.queue(redis), [])
    }

    func testInvalidBodiesAre400AndEnqueueNothing() async throws {
        let server = try await start()
        let cases: [(body: String, mentions: String)] = [
            ("not json", "not JSON"),
            ("", "not JSON"),
            (#"[{"username":"u","action":"user_created"}"#, "not JSON"),
            (#""user_created""#, "array of events"),
            // The worker's own grammar (Event.parse) decides, with its reasons.
            ("[\(first), {\"username\":\"u\",\"tries\":0}]", #"event 1: no \"action\""#),
            ("[\(first), {\"username\":\"u\",\"action\":\"\"}]", #"event 1: no \"action\""#),
            ("[\(first), {\"username\":\"u\",\"action\":7}]", "event 1"),
            (#"[{"action":"user_created"}]"#, #"event 0: no \"username\""#),
            ("[\(first), 5]", "event 1: not a JSON object"),
            (#"{"username":"u"}"#, #"no \"action\""#),
            // The last of duplicated keys counts, as in the worker: a number username is refused.
            (#"{"action":"user_created","username":"u","username":5}"#, #"no \"username\""#),
        ]
        for (body, mentions) in cases {
            let (status, answer) = try await server.post(body: body, secret: secret)
            XCTAssertEqual(status, 400, "body \(body)")
            XCTAssertTrue(answer.contains(mentions), "body \(body): answer \(answer)")
        }
        XCTAssertEqual(try server.queue(redis), [])
    }

    func testBodyOverTheLimitIs413() async throws {
        let server = try await start(variables: ["INGEST_MAX_BODY_BYTES": "4096"])
        // Well over the limit, so the server answers long before it has read the body.
        let padding = String(repeating: "x", count: 2_000_000)
        let body = #"[{"username":"u","action":"user_created","pad":""# + padding + #""}]"#
        let (status, answer) = try await server.post(body: body, secret: secret)
        XCTAssertEqual(status, 413, answer)
        XCTAssertTrue(answer.contains("4096"), answer)

        // Just over the limit, and just under it.
        let near = #"{"username":"u","action":"a","pad":""#
        let over = near + String(repeating: "y", count: 4097 - near.utf8.count - 2) + #""}"#
        XCTAssertEqual(over.utf8.count, 4097)
        let (overStatus, _) = try await server.post(body: over, secret: secret)
        XCTAssertEqual(overStatus, 413)
        let under = near + String(repeating: "y", count: 4096 - near.utf8.count - 2) + #""}"#
        XCTAssertEqual(under.utf8.count, 4096)
        let (underStatus, underAnswer) = try await server.post(body: under, secret: secret)
        XCTAssertEqual(underStatus, 202, underAnswer)
        XCTAssertEqual(try server.queue(redis), [under])
    }

    func testRequestsCarryingAWorkersDeliveryHeadersAre508UnlessAllowed() async throws {
        let server = try await start()
        for headers in [["webhook-id": "msg_3b1f_ep-1234"], ["User-Agent": "webhook-worker/1.0"]] {
            let (status, answer) = try await server.post(body: "[\(first)]", secret: secret, headers: headers)
            XCTAssertEqual(status, 508, "\(headers): \(answer)")
            XCTAssertTrue(answer.contains("INGEST_ALLOW_LOOP=true"), answer)
        }
        // Another sender's Standard Webhooks id is not ours.
        let (status, answer) = try await server.post(body: "[\(first)]", secret: secret, headers: ["webhook-id": "evt_1"])
        XCTAssertEqual(status, 202, answer)
        XCTAssertEqual(try server.queue(redis), [first])
        await server.stop()

        let allowing = try await start(variables: ["INGEST_ALLOW_LOOP": "true"])
        let (allowed, allowedAnswer) = try await allowing.post(body: "[\(second)]", secret: secret,
                                                               headers: ["webhook-id": "msg_3b1f_ep-1234"])
        XCTAssertEqual(allowed, 202, allowedAnswer)
        XCTAssertEqual(try allowing.queue(redis), [second])
    }

    func testOversizeEventIsADeadLetterAndTheRestOfItsPostIsEnqueued() async throws {
        let server = try await start(maxBytes: 4096)
        let big = #"{"username":"big","action":"user_created","pad":""# + String(repeating: "z", count: 5000) + #""}"#
        let (status, answer) = try await server.post(body: "[\(first), \(big), \(second)]", secret: secret)
        XCTAssertEqual(status, 202, answer)
        XCTAssertEqual(answer, #"{"enqueued":2}"#)
        XCTAssertEqual(try server.queue(redis), [second, first])
        let dead = try redis.cli.lines(["LRANGE", "\(server.prefix):dead", "0", "-1"])
        XCTAssertEqual(dead.count, 1)
        XCTAssertTrue(dead[0].contains(#""payload_truncated":true,"payload_length":\#(big.utf8.count)"#), dead[0])
        XCTAssertTrue(dead[0].contains("event 1 of a POST to the bridge"), dead[0])

        // One oversize event on its own: a dead letter, nothing to enqueue, still 202.
        let (alone, aloneAnswer) = try await server.post(body: big, secret: secret)
        XCTAssertEqual(alone, 202, aloneAnswer)
        XCTAssertEqual(aloneAnswer, #"{"enqueued":0}"#)
        XCTAssertEqual(try redis.cli.int(["LLEN", "\(server.prefix):dead"]), 2)
    }
}
