@testable import WebhookWorker
import WebhookCore
import WebhookHTTP
import XCTest

extension RequestBuilder.Built {
    /// Each request with the attempts it carries, for assertions.
    var pairs: [(HTTPRequest, [DeliveryLedger.Attempt])] {
        var start = 0
        return requests.indices.map { index in
            defer { start += counts[index] }
            return (requests[index], Array(attempts[start..<(start + counts[index])]))
        }
    }
}

/// The request builder's observable output: URL, headers and body for a given event, secret,
/// `tries` and time. Signatures are literals computed with Python's hmac, outside the project.
final class RequestBuilderTests: XCTestCase {
    private let raw = Array(#"{"username":"alice","action":"user_created","enqueued_at":1700000000.5}"#.utf8)
    private let hook = Target(kind: .webhook, url: "http://127.0.0.1:1/hook")
    private let now = 1700000123.9

    private func event(_ bytes: [UInt8]? = nil) throws -> Event {
        try Event.parse(bytes ?? raw, maxBytes: 1 << 20, now: 1)
    }

    /// `batched`: what the ledger decides for a Marzban-mode endpoint (`DeliveryLedger.batches`).
    private func attempt(_ event: Event, _ id: UInt64 = 1, target: Target? = nil, tries: Int = 2,
                         webhookID: String = "msg_test", batched: Bool = false) -> DeliveryLedger.Attempt {
        DeliveryLedger.Attempt(eventID: id, target: target ?? hook, tries: tries, webhookID: webhookID, event: event,
                               batched: batched)
    }

    /// Header lines as name (lowercased) → value, including those the send hook adds when the
    /// request goes on the wire; fails on a repeated name.
    private func headers(_ request: HTTPRequest, file: StaticString = #filePath, line: UInt = #line) -> [String: String] {
        var out: [String: String] = [:]
        var atSend = HeaderBlock()
        request.onSend?(request, &atSend)
        for header in request.headers + request.lines.lines + atSend.lines {
            guard let colon = header.firstIndex(of: ":") else {
                XCTFail("not a header line: \(header)", file: file, line: line)
                continue
            }
            let name = header[..<colon].lowercased()
            XCTAssertNil(out[name], "header \(name) sent twice", file: file, line: line)
            out[name] = header[header.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        return out
    }

    func testStandardRequestIsSignedBothWays() throws {
        var builder = RequestBuilder(secret: "s3cret", timeout: 7)
        builder.clock = { 1700000123 }
        let built = builder.requests(for: [attempt(try event())]).pairs
        XCTAssertEqual(built.count, 1)
        let (request, units) = try XCTUnwrap(built.first)
        XCTAssertEqual(units.map(\.webhookID), ["msg_test"])
        XCTAssertEqual(request.url, "http://127.0.0.1:1/hook")
        XCTAssertEqual(request.timeout, 7)
        XCTAssertEqual(String(decoding: request.body, as: UTF8.self),
                       #"{"username":"alice","action":"user_created","enqueued_at":1700000000.5,"tries":2}"#)
        XCTAssertEqual(headers(request), [
            "content-type": "application/json",
            "webhook-id": "msg_test",
            "webhook-timestamp": "1700000123",
            // hmac.new(b"s3cret", body, sha256).hexdigest()
            "x-webhook-secret": "8305ccc279e65df9ae6f74fe0b58576f4f8f79cb991e9938209b485e367e338a",
            // base64(hmac(b"s3cret", b"msg_test.1700000123." + body))
            "webhook-signature": "v1,zS//4XjQDpqHEzlGfh8PrhC6lnBZtb7UEhtVfH6fvgc=",
        ])
    }

    /// One send hook per endpoint is made and reused: requests to endpoints with their own
    /// secrets, alternating, are each signed with their endpoint's key and their own id (checked
    /// against `WebhookSigner`, the plain reference).
    func testAlternatingEndpointsAreEachSignedWithTheirOwnSecretAndID() throws {
        func endpoint(_ name: String, _ secret: String) -> Target {
            Target(spec: EndpointSpec(name: name, kind: .webhook, url: "http://127.0.0.1:1/\(name)", secrets: [secret]))
        }
        let first = endpoint("first", "secret-one"), second = endpoint("second", "secret-two")
        var builder = RequestBuilder(secret: "global", timeout: 7)
        builder.clock = { 1700000123 }
        let plan: [(Target, String)] = [(first, "msg_1"), (second, "msg_2"), (first, "msg_3"), (hook, "msg_4"), (second, "msg_5")]
        for (target, id) in plan {
            let request = try XCTUnwrap(builder.requests(for: [attempt(try event(), target: target, webhookID: id)]).requests.first)
            let secret = target === first ? "secret-one" : target === second ? "secret-two" : "global"
            let expected = try XCTUnwrap(WebhookSigner(secret: secret).standardSignature(id: id, timestamp: 1700000123,
                                                                                          body: request.body))
            XCTAssertEqual(headers(request)["webhook-signature"], expected, "\(target.name) \(id)")
        }
    }

    func testWhsecSecretKeysTheStandardSignatureWithTheDecodedBytes() throws {
        let secret = "whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
        var builder = RequestBuilder(secret: secret, timeout: 7)
        builder.clock = { 1700000123 }
        let request = try XCTUnwrap(builder.requests(for: [attempt(try event())]).requests.first)
        let sent = headers(request)
        // Keyed by bytes(range(32)), the decoded part after whsec_.
        XCTAssertEqual(sent["webhook-signature"], "v1,v1jTVXdhMDQfdDl8Aplf4LZYXiy11Fel+wvvIlZUoUI=")
        // The hex signature keeps the secret's UTF-8 bytes, whsec_ prefix included.
        XCTAssertEqual(sent["x-webhook-secret"], "6a57290bbed342986ca0a1c7f907ca1c8aa0d96cd1c1c9c3d4bc5cef0c06a56e")
    }

    func testWithoutASecretNothingIsSigned() throws {
        for secret in [nil, ""] as [String?] {
            var builder = RequestBuilder(secret: secret, timeout: 7)
            let request = try XCTUnwrap(builder.requests(for: [attempt(try event(), tries: 0)]).requests.first)
            let sent = headers(request)
            XCTAssertNil(sent["x-webhook-secret"])
            XCTAssertNil(sent["webhook-signature"])
            XCTAssertEqual(sent["webhook-id"], "msg_test")
            XCTAssertEqual(String(decoding: request.body, as: UTF8.self),
                           #"{"username":"alice","action":"user_created","enqueued_at":1700000000.5,"tries":0}"#)
        }
    }

    func testMarzbanModeBatchesOneArrayPerEndpointWithTheRawSecret() throws {
        let other = Target(kind: .webhook, url: "http://127.0.0.1:2/other")
        let second = try event(Array(#"{"action":"user_limited","username":"bob","tries":5,"enqueued_at":2.25}"#.utf8))
        var builder = RequestBuilder(secret: "raw-secret", timeout: 7)
        let built = builder.requests(for: [
            attempt(try event(), 1, tries: 0, webhookID: "a", batched: true),
            attempt(second, 2, tries: 3, webhookID: "b", batched: true),
            attempt(try event(), 1, target: other, tries: 1, webhookID: "c", batched: true),
        ]).pairs
        XCTAssertEqual(built.count, 2, "one request per endpoint")
        let toHook = try XCTUnwrap(built.first { $0.0.url == hook.url })
        XCTAssertEqual(toHook.1.map(\.webhookID), ["a", "b"])
        XCTAssertEqual(String(decoding: toHook.0.body, as: UTF8.self),
                       #"[{"username":"alice","action":"user_created","enqueued_at":1700000000.5,"tries":0},"#
                       + #"{"action":"user_limited","username":"bob","tries":3,"enqueued_at":2.25}]"#)
        XCTAssertEqual(headers(toHook.0), ["content-type": "application/json", "x-webhook-secret": "raw-secret"])
        let toOther = try XCTUnwrap(built.first { $0.0.url == other.url })
        XCTAssertEqual(toOther.1.map(\.webhookID), ["c"])
        XCTAssertEqual(String(decoding: toOther.0.body, as: UTF8.self),
                       #"[{"username":"alice","action":"user_created","enqueued_at":1700000000.5,"tries":1}]"#)
        XCTAssertNotEqual(toHook.0.lane, toOther.0.lane, "each endpoint has its own lane")
    }

    func testDiscordGetsAnEmbedAndNeverTheSecret() throws {
        let discord = Target(kind: .discord, url: "https://discord.com/api/webhooks/1/x")
        var builder = RequestBuilder(secret: "s3cret", timeout: 7)
        let request = try XCTUnwrap(builder.requests(for: [attempt(try event(), target: discord)]).requests.first)
        XCTAssertEqual(request.url, discord.url)
        XCTAssertEqual(headers(request), ["content-type": "application/json"])
        let body = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(request.body)) as? [String: Any])
        XCTAssertEqual((body["embeds"] as? [[String: Any]])?.count, 1)
        XCTAssertFalse(String(decoding: request.body, as: UTF8.self).contains("s3cret"))
    }

    /// An endpoint's own headers (the endpoints file's `headers`) travel in each request's
    /// header block beside Content-Type, exactly once, in the standard and the Marzban shape.
    func testAnEndpointsOwnHeadersGoOnceWithEveryRequest() throws {
        let spec = EndpointSpec(name: "billing", kind: .webhook, url: "http://127.0.0.1:3/billing",
                                headers: [("Authorization", "Bearer x"), ("X-Team", "ops")])
        let marzbanSpec = EndpointSpec(name: "panel", kind: .webhook, url: "http://127.0.0.1:4/panel",
                                       compat: .marzban, headers: [("X-Team", "ops")])
        let standard = Target(spec: spec), marzban = Target(spec: marzbanSpec)
        var builder = RequestBuilder(secret: "s3cret", timeout: 7)
        builder.clock = { 1700000123 }
        let built = builder.requests(for: [attempt(try event(), 1, target: standard),
                                           attempt(try event(), 2, target: marzban, batched: true)]).requests
        XCTAssertEqual(built.count, 2)
        let first = headers(built[0])
        XCTAssertEqual(first["content-type"], "application/json")
        XCTAssertEqual(first["authorization"], "Bearer x")
        XCTAssertEqual(first["x-team"], "ops")
        XCTAssertEqual(first.count, 7, "Content-Type, two of the endpoint's, webhook-id, x-webhook-secret, timestamp, signature")
        XCTAssertEqual(headers(built[1]), ["content-type": "application/json", "x-team": "ops", "x-webhook-secret": "s3cret"])
        XCTAssertTrue(built.allSatisfy { $0.headers.isEmpty }, "every line is in the request's own block")
    }

    func testLanesAreStablePerEndpoint() throws {
        let other = Target(kind: .webhook, url: "http://127.0.0.1:2/other")
        var builder = RequestBuilder(secret: nil, timeout: 7)
        let first = builder.requests(for: [attempt(try event(), 1), attempt(try event(), 2, target: other)])
        let second = builder.requests(for: [attempt(try event(), 3, target: other), attempt(try event(), 4)])
        let all = first.requests + second.requests
        let lanes = Dictionary(grouping: all, by: \.url).mapValues { Set($0.map(\.lane)) }
        XCTAssertEqual(lanes[hook.url]?.count, 1)
        XCTAssertEqual(lanes[other.url]?.count, 1)
        XCTAssertNotEqual(lanes[hook.url], lanes[other.url])
    }

    /// A finished request's memory is written into again by the next requests (`recycle`):
    /// they must carry exactly their own body and header lines, nothing left from the longer
    /// request before, and the memory must really be the recycled one.
    func testARecycledRequestsMemoryCarriesExactlyTheNextRequest() throws {
        var builder = RequestBuilder(secret: "s3cret", timeout: 7)
        builder.clock = { 1700000123 }
        let long = try event(Array(#"{"username":"a-much-longer-name","action":"user_limited","note":"\#(String(repeating: "x", count: 300))"}"#.utf8))
        var first = builder.requests(for: [attempt(long, webhookID: "msg_first_with_a_longer_id")]).requests[0]
        let firstMemory = Set([first.body.withUnsafeBufferPointer { $0.baseAddress }, first.lines.bytes.withUnsafeBufferPointer { $0.baseAddress }])
        builder.recycle(&first)
        XCTAssertTrue(first.body.isEmpty && first.lines.isEmpty, "the request's memory was taken")

        let short = try event()
        let second = builder.requests(for: [attempt(short, webhookID: "msg_test")]).requests[0]
        let secondMemory = Set([second.body.withUnsafeBufferPointer { $0.baseAddress }, second.lines.bytes.withUnsafeBufferPointer { $0.baseAddress }])
        XCTAssertEqual(secondMemory, firstMemory, "both buffers are the first request's")
        XCTAssertEqual(second.body, short.body(tries: 2))
        // The same as a builder with nothing to recycle makes.
        var fresh = RequestBuilder(secret: "s3cret", timeout: 7)
        fresh.clock = { 1700000123 }
        let expected = fresh.requests(for: [attempt(short, webhookID: "msg_test")]).requests[0]
        XCTAssertEqual(second.lines, expected.lines)
        XCTAssertEqual(headers(second), headers(expected))
    }
}
