@testable import WebhookWorker
import WebhookCore
import WebhookHTTP
import XCTest

/// `v1a` (Ed25519) signatures in the built request. Expected values are literals computed with
/// PyPI `pynacl` from RFC 8032's first test key, outside the project (Ed25519 is deterministic).
final class AsymmetricSignatureRequestTests: XCTestCase {
    /// RFC 8032 section 7.1, TEST 1: the secret key (seed) as `whsk_`.
    static let rfcKey = "whsk_nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A="
    /// The same test's public key as `whpk_`.
    static let rfcPublic = "whpk_11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="
    /// libsodium's 64-byte form (seed, then public key) of the seed 0x01 × 32, as the
    /// JavaScript Standard Webhooks library's tests make it.
    static let sodiumKey = "whsk_AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQGKiOPddAnxlf1S2y08ul1yymcJvx2UEhvzdIgBtA9vXA=="

    private let raw = Array(#"{"username":"alice","action":"user_created","enqueued_at":1700000000.5}"#.utf8)

    private func signatureHeader(secrets: [String], keys: [String]) throws -> String? {
        var spec = EndpointSpec(name: "signed", kind: .webhook, url: "http://127.0.0.1:1/hook", secrets: secrets)
        spec.signingKeys = try keys.map { try AsymmetricSigningKey(parsing: $0) }
        var builder = RequestBuilder(secret: nil, timeout: 7)
        builder.clock = { 1700000123 }
        let event = try Event.parse(raw, maxBytes: 1 << 20, now: 1)
        let unit = DeliveryLedger.Attempt(eventID: 1, target: Target(spec: spec), tries: 2, webhookID: "msg_test", event: event)
        let request = try XCTUnwrap(builder.requests(for: [unit]).requests.first)
        var atSend = HeaderBlock()
        request.onSend?(request, &atSend)
        let lines = (request.headers + request.lines.lines + atSend.lines).filter { $0.lowercased().hasPrefix("webhook-signature:") }
        XCTAssertLessThanOrEqual(lines.count, 1, "one webhook-signature header")
        return lines.first.map { String($0.dropFirst("webhook-signature:".count)).trimmingCharacters(in: .whitespaces) }
    }

    func testV1aFollowsTheHMACSignatureSpaceSeparated() throws {
        XCTAssertEqual(try signatureHeader(secrets: ["s3cret"], keys: [Self.rfcKey]),
                       // base64(hmac(b"s3cret", b"msg_test.1700000123." + body))
                       "v1,zS//4XjQDpqHEzlGfh8PrhC6lnBZtb7UEhtVfH6fvgc= "
                       // nacl.signing.SigningKey(seed).sign(b"msg_test.1700000123." + body).signature
                       + "v1a,c7Tk4tOrXsIHM3ocOsViIBmRVEohHQfJQvE/9JJO1yjb7yeLaBRUNKAqK6kkTFkdT7wnO5H9XVhyCJH7ebqpAQ==")
    }

    func testAKeyAloneSignsWithoutAnHMAC() throws {
        XCTAssertEqual(try signatureHeader(secrets: [], keys: [Self.rfcKey]),
                       "v1a,c7Tk4tOrXsIHM3ocOsViIBmRVEohHQfJQvE/9JJO1yjb7yeLaBRUNKAqK6kkTFkdT7wnO5H9XVhyCJH7ebqpAQ==")
        XCTAssertNil(try signatureHeader(secrets: [], keys: []), "nothing to sign with: no header")
    }

    func testRotationSignsWithEachKeyNewestFirst() throws {
        XCTAssertEqual(try signatureHeader(secrets: ["s3cret"], keys: [Self.sodiumKey, Self.rfcKey]),
                       "v1,zS//4XjQDpqHEzlGfh8PrhC6lnBZtb7UEhtVfH6fvgc= "
                       + "v1a,A/VTA+whee4y071DQ/mWInH1Ht9Z5gYCG6xK6wIHoMQ+VkjO37dHHIN3hNFjdyLZo+Ty284nESCc+qdiEU8PAA== "
                       + "v1a,c7Tk4tOrXsIHM3ocOsViIBmRVEohHQfJQvE/9JJO1yjb7yeLaBRUNKAqK6kkTFkdT7wnO5H9XVhyCJH7ebqpAQ==")
    }
}
