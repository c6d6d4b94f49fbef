import Foundation
import TestSupport
import WebhookCore
import XCTest

/// Which endpoint a retry goes to, end to end: names whose 32-bit ids collided, an endpoint
/// moved from WEBHOOK_ADDRESS into the endpoints file (with retries of this release and of the
/// previous one in Redis), an endpoint whose URL changed, and `dead replay --to`.
final class EndpointIdentityTests: WorkerTestCase {
    private let itemKey = "identity-test-item-key-0123456789"

    private func waitUntilSettled(dead: Int, timeout: Double = 30) async throws {
        try await waitFor("dead=\(dead), queue, delayed and processing empty", timeout: timeout, {
            ["dead": try llen("dead"), "queue": try llen("queue"), "delayed": try zcard("delayed"),
             "processing": try processingTotal()]
        }, until: { $0 == ["dead": dead, "queue": 0, "delayed": 0, "processing": 0] })
    }

    /// The dead letters as decoded objects, newest first.
    private func deadLetters() throws -> [DeadLetter] {
        try redis.cli.lines(["LRANGE", "\(prefix):dead", "0", "-1"]).map { try DeadLetter(decoding: Array($0.utf8)) }
    }

    /// FNV-1a 32: how the previous release named endpoints in the items it stored.
    private func fnv(_ text: String) -> String {
        var hash: UInt32 = 2_166_136_261
        for byte in text.utf8 { hash = (hash ^ UInt32(byte)) &* 16_777_619 }
        return String(format: "%08x", hash)
    }

    func testTwoNamesThatCollidedIn32BitsEachGetTheirOwnRetries() async throws {
        let first = try await receiver(.status(500)), second = try await receiver(.status(500))
        let file = try endpointsFile("""
            endpoints:
              - name: ep-55c567fd
                url: \(first.url)
              - name: ep-3ac7628c
                url: \(second.url)
            """)
        let worker = try startWorker(["WEBHOOK_ENDPOINTS_FILE": file, "WEBHOOK_ITEM_KEY": itemKey,
                                      "NUMBER_OF_RECURRENT_NOTIFICATIONS": "2", "RECURRENT_NOTIFICATIONS_TIMEOUT": "1"])
        try push(3)
        try await waitUntilSettled(dead: 6)
        // Each endpoint: 3 events x 3 attempts, all at its own URL, under its own webhook-ids.
        XCTAssertEqual(first.count, 9, worker.log.suffix(2000).description)
        XCTAssertEqual(second.count, 9, worker.log.suffix(2000).description)
        let firstIDs = Set(first.requests.compactMap { $0.header("webhook-id") })
        let secondIDs = Set(second.requests.compactMap { $0.header("webhook-id") })
        XCTAssertEqual(firstIDs.count, 3)
        XCTAssertEqual(secondIDs.count, 3)
        XCTAssertTrue(firstIDs.isDisjoint(with: secondIDs), "webhook-ids are per endpoint")
        XCTAssertEqual(Set(try deadLetters().compactMap(\.endpointName)), ["ep-55c567fd", "ep-3ac7628c"])
        // The start-up line counts the endpoints of the file too.
        XCTAssertTrue(worker.log.contains("endpoints=2") && worker.log.contains("endpoint_names=ep-55c567fd,ep-3ac7628c"),
                      worker.log.suffix(3000).description)
        await stop(worker)
    }

    func testAnEndpointMovedIntoTheFileKeepsItsRetriesOfThisReleaseAndThePreviousOne() async throws {
        let hook = try await receiver(.status(500))
        let first = try startWorker(["WEBHOOK_ADDRESS": hook.url, "WEBHOOK_ITEM_KEY": itemKey,
                                     "RECURRENT_NOTIFICATIONS_TIMEOUT": "3"])
        try push(2)
        _ = try await hook.waitForRequests(count: 2, timeout: 30)
        try await waitFor("2 retries parked", { try zcard("delayed") }, until: { $0 == 2 })
        await stop(first)
        // A retry the previous release left in Redis: its 32-bit id of kind and URL, no fingerprint.
        let legacyID = "w" + fnv("w" + hook.url)
        // Written out by hand: this release writes `<rate-limits>.<held-since>.<slot>` and a
        // fingerprint; the previous one wrote `<rate-limits>.<seconds waited>` and a bare id.
        let signed = Array(#"msg_0123456789abcdef01234567_\#(legacyID) 1 \#(legacyID) 0.0 {"action":"user_created","username":"legacy"}"#.utf8)
        let mac = ItemAuthenticator(keyMaterial: Array(itemKey.utf8)).mac(signed)
        let text = "@" + String(decoding: mac, as: UTF8.self) + " " + String(decoding: signed, as: UTF8.self)
        try lpush([text])

        // The operator moves the URL into the endpoints file, under a name.
        hook.setBehaviour(.status(200))
        let file = try endpointsFile("""
            endpoints:
              - name: billing
                url: \(hook.url)
            """)
        let second = try startWorker(["WEBHOOK_ENDPOINTS_FILE": file, "WEBHOOK_ITEM_KEY": itemKey])
        try await waitUntilSettled(dead: 0)
        let requests = hook.requests
        XCTAssertEqual(requests.count, 5, second.log.suffix(3000).description)
        let retried = Array(requests.suffix(3))
        XCTAssertEqual(Set(try usernames(retried)), ["user-0", "user-1", "legacy"])
        XCTAssertTrue(try retried.allSatisfy { try json($0)["tries"] as? Int == 1 }, "retries, tries kept")
        let firstIDs = Set(requests.prefix(2).compactMap { $0.header("webhook-id") })
        XCTAssertTrue(firstIDs.isSubset(of: Set(retried.compactMap { $0.header("webhook-id") })), "same webhook-ids as before")
        XCTAssertTrue(retried.contains { $0.header("webhook-id") == "msg_0123456789abcdef01234567_\(legacyID)" })
        await stop(second)
    }

    func testARetryIsNotSentToItsEndpointsNewURLUntilReplayed() async throws {
        let old = try await receiver(.status(500)), new = try await receiver()
        let before = try endpointsFile("endpoints:\n  - name: billing\n    url: \(old.url)\n")
        let first = try startWorker(["WEBHOOK_ENDPOINTS_FILE": before, "WEBHOOK_ITEM_KEY": itemKey,
                                     "RECURRENT_NOTIFICATIONS_TIMEOUT": "2"])
        try push(1)
        _ = try await old.waitForRequests(count: 1, timeout: 30)
        try await waitFor("the retry parked", { try zcard("delayed") }, until: { $0 == 1 })
        await stop(first)

        let after = try endpointsFile("endpoints:\n  - name: billing\n    url: \(new.url)\n")
        let second = try startWorker(["WEBHOOK_ENDPOINTS_FILE": after, "WEBHOOK_ITEM_KEY": itemKey])
        try await waitUntilSettled(dead: 1)
        XCTAssertEqual(new.count, 0, "the retry was made for another URL")
        let letter = try XCTUnwrap(try deadLetters().first)
        XCTAssertTrue(letter.reason.contains("another URL"), letter.reason)
        XCTAssertEqual(letter.endpointName, "billing")

        // The operator decides: replayed, it goes to the endpoint's URL as configured now.
        let replay = try await command(["dead", "replay", "--all"], ["WEBHOOK_ENDPOINTS_FILE": after, "WEBHOOK_ITEM_KEY": itemKey])
        XCTAssertEqual(replay.status, 0, replay.stderr)
        XCTAssertTrue(replay.stdout.contains("replayed 1"), replay.stdout)
        let delivered = try await new.waitForRequests(count: 1, timeout: 30)
        XCTAssertEqual(delivered[0].header("webhook-id"), letter.webhookID)
        try await waitUntilSettled(dead: 0)
        XCTAssertEqual(old.count, 1)
        await stop(second)
    }

    func testDeadLettersOfARemovedEndpointOrOfNoneAreReplayedToANamedOne() async throws {
        let billing = try await receiver()
        let file = try endpointsFile("endpoints:\n  - name: billing\n    url: \(billing.url)\n")
        let environment = ["WEBHOOK_ENDPOINTS_FILE": file, "WEBHOOK_ITEM_KEY": itemKey]
        // Written by the previous release: a retry whose endpoint was gone (endpoint_id null), and
        // one for an endpoint this configuration does not have; plus input that cannot be delivered.
        let orphan = #"{"id":"dl_orphan","reason":"endpoint w1234abcd is no longer configured","endpoint_id":null,"endpoint_name":null,"endpoint":null,"kind":null,"webhook_id":"msg_aaaa_w1234abcd","attempts":2,"last_status":null,"last_error":null,"failed_at":1.5,"payload":{"action":"user_created","username":"orphan"}}"#
        let removed = #"{"id":"dl_removed","reason":"gave up","endpoint_id":"nffffffffffffffff","endpoint_name":"gone","endpoint":"http://gone.example/","kind":"webhook","webhook_id":null,"attempts":4,"last_status":500,"last_error":null,"failed_at":1.5,"payload":{"action":"user_created","username":"removed"}}"#
        let malformed = #"{"id":"dl_bad","reason":"malformed event: not JSON","endpoint_id":null,"endpoint_name":null,"endpoint":null,"kind":null,"webhook_id":null,"attempts":0,"last_status":null,"last_error":null,"failed_at":1.5,"payload":"not json"}"#
        for entry in [malformed, removed, orphan] { _ = try redis.cli.run(["LPUSH", "\(prefix):dead", entry]) }

        let plain = try await command(["dead", "replay", "--all"], environment)
        XCTAssertEqual(plain.status, 0, plain.stderr)
        XCTAssertTrue(plain.stdout.contains("replayed 1"), plain.stdout)
        XCTAssertTrue(plain.stdout.contains("name no endpoint (give --to NAME)"), plain.stdout)
        XCTAssertEqual(try llen("queue"), 1)
        _ = try redis.cli.run(["DEL", "\(prefix):queue"])
        _ = try redis.cli.run(["LPUSH", "\(prefix):dead", removed])

        let unknown = try await command(["dead", "replay", "--all", "--to", "nosuch"], environment)
        XCTAssertNotEqual(unknown.status, 0)
        XCTAssertTrue(unknown.stderr.contains("no endpoint is named 'nosuch'") && unknown.stderr.contains("billing"), unknown.stderr)

        let worker = try startWorker(environment)
        let replay = try await command(["dead", "replay", "--all", "--to", "billing"], environment)
        XCTAssertEqual(replay.status, 0, replay.stderr)
        XCTAssertTrue(replay.stdout.contains("replayed 2 to 'billing'"), replay.stdout)
        XCTAssertTrue(replay.stdout.contains("skipped 1 that cannot be delivered"), replay.stdout)
        let delivered = try await billing.waitForRequests(count: 2, timeout: 30)
        XCTAssertEqual(Set(try usernames(delivered)), ["orphan", "removed"])
        XCTAssertTrue(delivered.contains { $0.header("webhook-id") == "msg_aaaa_w1234abcd" }, "the webhook-id is kept")
        try await waitUntilSettled(dead: 1)
        XCTAssertEqual(try deadLetters().map(\.id), ["dl_bad"])
        await stop(worker)
    }
}
