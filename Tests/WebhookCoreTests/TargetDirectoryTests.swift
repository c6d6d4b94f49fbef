import XCTest
@testable import WebhookCore

/// Which configured endpoint a stored delivery goes to: ids of earlier releases, the move from
/// WEBHOOK_ADDRESS into the endpoints file, renames, and the URL fence.
final class TargetDirectoryTests: XCTestCase {
    private let auth = ItemAuthenticator(keyMaterial: Array("directory-test-key-0123456789".utf8))
    private let event = #"{"action":"user_created","username":"alice"}"#
    private var random = SystemRandomNumberGenerator()

    private func named(_ name: String, _ url: String, kind: EndpointKind = .webhook) -> Target {
        Target(spec: EndpointSpec(name: name, kind: kind, url: url))
    }

    private func implicit(_ url: String) -> Target {
        Target(spec: EndpointSpec(name: "host", kind: .webhook, url: url, isImplicit: true))
    }

    /// FNV-1a 32, written out again here: the ids earlier releases stored.
    private func fnv(_ text: String) -> String {
        var hash: UInt32 = 2_166_136_261
        for byte in text.utf8 { hash = (hash ^ UInt32(byte)) &* 16_777_619 }
        return String(format: "%08x", hash)
    }

    func testOwnIDWithTheSameURLIsDeliveredAndAnotherURLIsRefused() {
        let billing = named("billing", "http://127.0.0.1:1/hook")
        let directory = TargetDirectory(targets: [billing], authenticator: auth)
        let print = auth.urlFingerprint(kind: .webhook, url: "http://127.0.0.1:1/hook")
        XCTAssertEqual(directory.fingerprint(of: billing), print)
        XCTAssertEqual(directory.resolve(id: billing.id, fingerprint: print), .target(billing))
        // The operator points `billing` elsewhere: its pending retries must not follow.
        let moved = named("billing", "http://127.0.0.1:2/hook")
        let after = TargetDirectory(targets: [moved], authenticator: auth)
        XCTAssertEqual(after.resolve(id: billing.id, fingerprint: print), .urlChanged(moved))
    }

    func testTheCollidingNamesOfIssue24AreTwoTargets() {
        let first = named("ep-55c567fd", "http://127.0.0.1:1/")
        let second = named("ep-3ac7628c", "http://127.0.0.1:2/")
        XCTAssertEqual(fnv("ep-55c567fd"), fnv("ep-3ac7628c"), "the collision this guards against")
        let directory = TargetDirectory(targets: [first, second], authenticator: auth)
        XCTAssertEqual(directory.resolve(id: second.id, fingerprint: directory.fingerprint(of: second)), .target(second))
        XCTAssertEqual(directory.resolve(id: first.id, fingerprint: directory.fingerprint(of: first)), .target(first))
        // An item of an earlier release names the shared 32-bit id: neither may be guessed.
        XCTAssertEqual(directory.resolve(id: "n" + fnv("ep-3ac7628c"), fingerprint: nil), .ambiguous([first, second]))
        XCTAssertTrue(TargetDirectory.collisions([(first.name, first.id), (second.name, second.id)]).isEmpty)
        XCTAssertEqual(TargetDirectory.collisions([("a", "n1"), ("b", "n2"), ("c", "n1")]).map { [$0.0, $0.1] }, [["a", "c"]])
    }

    func testAnEndpointMovedFromWebhookAddressIntoTheFileKeepsItsRetries() {
        let url = "http://127.0.0.1:7/hook"
        let before = implicit(url)
        let beforeDirectory = TargetDirectory(targets: [before], authenticator: auth)
        let billing = named("billing", url)
        let directory = TargetDirectory(targets: [billing, named("other", "http://127.0.0.1:8/")], authenticator: auth)
        // Written by this release for the implicit endpoint, and by earlier releases (32-bit id).
        XCTAssertEqual(directory.resolve(id: before.id, fingerprint: beforeDirectory.fingerprint(of: before)), .target(billing))
        XCTAssertEqual(directory.resolve(id: "w" + fnv("w" + url), fingerprint: nil), .target(billing))
        // A named endpoint of an earlier release.
        XCTAssertEqual(directory.resolve(id: "n" + fnv("billing"), fingerprint: nil), .target(billing))
        // Renamed in the file, same URL: the fingerprint finds it.
        let renamed = TargetDirectory(targets: [named("invoices", url)], authenticator: auth)
        XCTAssertEqual(renamed.resolve(id: billing.id, fingerprint: directory.fingerprint(of: billing)),
                       .target(renamed.targets[0]))
        // Back out of the file into WEBHOOK_ADDRESS.
        let back = TargetDirectory(targets: [implicit(url)], authenticator: auth)
        XCTAssertEqual(back.resolve(id: billing.id, fingerprint: directory.fingerprint(of: billing)), .target(back.targets[0]))
    }

    func testTwoEndpointsWithOneURLAreNotGuessedAndUnknownIDsAreUnknown() {
        let url = "http://127.0.0.1:9/"
        let a = named("a", url), b = named("b", url)
        let directory = TargetDirectory(targets: [a, b], authenticator: auth)
        XCTAssertEqual(directory.resolve(id: a.id, fingerprint: directory.fingerprint(of: a)), .target(a), "its own id decides")
        XCTAssertEqual(directory.resolve(id: implicit(url).id, fingerprint: directory.fingerprint(of: a)), .ambiguous([a, b]))
        XCTAssertEqual(directory.resolve(id: "w" + fnv("w" + url), fingerprint: nil), .ambiguous([a, b]))
        XCTAssertEqual(directory.resolve(id: "nffffffffffffffff", fingerprint: "000000000000"), .unknown)
        XCTAssertEqual(directory.resolve(id: "w00000000", fingerprint: nil), .unknown)
        // A fingerprint under another key (another fleet's items) matches nothing.
        let other = ItemAuthenticator(keyMaterial: Array("another-key-0123456789".utf8))
        XCTAssertEqual(directory.resolve(id: "nffffffffffffffff", fingerprint: other.urlFingerprint(kind: .webhook, url: url)), .unknown)
        // Kind is part of the fingerprint: a Discord endpoint at that URL is another destination.
        XCTAssertNotEqual(auth.urlFingerprint(kind: .discord, url: url), auth.urlFingerprint(kind: .webhook, url: url))
    }

    func testTheLedgerFencesRetriesAndMigratesThem() throws {
        let url = "http://127.0.0.1:7/hook"
        let settings = { (targets: [Target]) in
            DeliveryLedger.Settings(targets: targets, retry: RetryPolicy(retries: 3, delay: 180), maxPayloadBytes: 10_000,
                                    maxCrashes: 3, laggardSlack: 512, deferDelay: 30)
        }
        // A first attempt fails: the retry item carries the URL's fingerprint.
        let before = implicit(url)
        var first = DeliveryLedger(settings: settings([before]), authenticator: auth)
        let admission = first.admit([Array("#t1 \(event)".utf8)], now: 1)
        let token = first.track(attempts: admission.attempts)
        let done = first.complete(request: token, result: .status(500, retryAfter: nil, body: []), now: 2, random: &random)
        guard case .retry(_, let item) = try XCTUnwrap(done.settlements.first?.outcomes.first) else { return XCTFail("no retry") }
        guard case .delivery(let retry) = QueueItem.parse(item, authenticator: auth).item else { return XCTFail("not a delivery") }
        XCTAssertEqual(retry.urlFingerprint, auth.urlFingerprint(kind: .webhook, url: url))

        // Moved into the endpoints file under a name: the retry goes to it, same webhook-id.
        let billing = named("billing", url)
        var moved = DeliveryLedger(settings: settings([billing]), authenticator: auth)
        let migrated = moved.admit([item], now: 3)
        XCTAssertEqual(migrated.attempts.map(\.target), [billing])
        XCTAssertEqual(migrated.attempts.map(\.webhookID), [retry.webhookID])
        XCTAssertEqual(migrated.attempts.map(\.tries), [1])

        // The same id now with another URL: a dead letter saying so, naming the endpoint.
        var elsewhere = DeliveryLedger(settings: settings([implicit(url), named("x", "http://127.0.0.1:8/")]), authenticator: auth)
        let rebuilt = Delivery(webhookID: retry.webhookID, tries: 1, targetID: before.id,
                               urlFingerprint: auth.urlFingerprint(kind: .webhook, url: "http://127.0.0.1:6/old"), raw: retry.raw)
        let fenced = elsewhere.admit([QueueItem.encode(rebuilt, authenticator: auth)], now: 4)
        XCTAssertTrue(fenced.attempts.isEmpty)
        let entry = try XCTUnwrap(fenced.settlements.first?.outcomes.first)
        guard case .dead(let bytes) = entry else { return XCTFail("not a dead letter: \(entry)") }
        let letter = try DeadLetter(decoding: bytes)
        XCTAssertTrue(letter.reason.contains("another URL"), letter.reason)
        XCTAssertEqual(letter.targetID, before.id)
        XCTAssertEqual(letter.webhookID, retry.webhookID)

        // No endpoint at all: the dead letter keeps the id it was pending for.
        var gone = DeliveryLedger(settings: settings([named("x", "http://127.0.0.1:8/")]), authenticator: auth)
        let lost = gone.admit([item], now: 5)
        guard case .dead(let goneBytes) = try XCTUnwrap(lost.settlements.first?.outcomes.first) else { return XCTFail() }
        let goneLetter = try DeadLetter(decoding: goneBytes)
        XCTAssertEqual(goneLetter.targetID, before.id)
        XCTAssertTrue(goneLetter.reason.contains("--to"), goneLetter.reason)
    }
}
