import XCTest
@testable import WebhookCore

final class QueueItemTests: XCTestCase {
    private let event = Array(#"{"action":"user_created","username":"a b"}"#.utf8)
    private let auth = ItemAuthenticator(keyMaterial: Array("test-item-key-0123456789".utf8))
    private let target = Target(kind: .webhook, url: "http://127.0.0.1:9000/")

    private func parse(_ bytes: [UInt8]) -> (item: QueueItem, crashes: Int) {
        QueueItem.parse(bytes, authenticator: auth)
    }

    func testRawEvent() {
        XCTAssertEqual(parse(event).item, .event(tag: nil, raw: event[...]))
        XCTAssertEqual(parse(event).crashes, 0)
    }

    func testTaggedEvent() {
        let stored = Array("#3f9a1c ".utf8) + event
        guard case .event(let tag?, let raw) = parse(stored).item else { return XCTFail("not a tagged event") }
        XCTAssertEqual(String(decoding: tag, as: UTF8.self), "3f9a1c")
        XCTAssertEqual(Array(raw), event)
    }

    func testCrashMarkIsCountedAndStripped() {
        let stored = Array("!2 #3f9a1c ".utf8) + event
        let (item, crashes) = parse(stored)
        XCTAssertEqual(crashes, 2)
        guard case .event(let tag?, let raw) = item else { return XCTFail("not a tagged event") }
        XCTAssertEqual(String(decoding: tag, as: UTF8.self), "3f9a1c")
        XCTAssertEqual(Array(raw), event)
    }

    func testTargetIDIsKindAnd64BitsOfSHA256OfKindAndURL() {
        // python3 -c 'import hashlib; print("w" + hashlib.sha256(b"whttp://127.0.0.1:9000/").hexdigest()[:16])'
        XCTAssertEqual(target.id, "we1caea57b5aaac71")
        XCTAssertNotEqual(Target(kind: .discord, url: target.url).id, target.id)
        // The 32-bit FNV-1a id of earlier releases stays an alias:
        // python3 -c 'h=2166136261
        // for b in b"whttp://127.0.0.1:9000/": h=((h^b)*16777619)&0xffffffff
        // print("%08x"%h)'   -> 9173a8db
        XCTAssertEqual(target.aliases, ["w9173a8db"])
    }

    func testNamesThatSharedA32BitIDNoLongerDo() {
        // Both names had id n1c96a22c in earlier releases (32-bit FNV-1a).
        let first = Target(spec: EndpointSpec(name: "ep-55c567fd", kind: .webhook, url: "http://127.0.0.1:1/"))
        let second = Target(spec: EndpointSpec(name: "ep-3ac7628c", kind: .webhook, url: "http://127.0.0.1:2/"))
        XCTAssertEqual(first.aliases.first, "n1c96a22c")
        XCTAssertEqual(second.aliases.first, "n1c96a22c")
        // python3 -c 'import hashlib; print(hashlib.sha256(b"ep-55c567fd").hexdigest()[:16])'
        XCTAssertEqual(first.id, "n9e939d43fc6fb5bf")
        XCTAssertEqual(second.id, "nc6666fb73840ba19")
    }

    func testDeliveryIsAuthenticatedByAnIndependentlyComputedMAC() {
        // python3: fk = hmac(key, b"webhook-worker url fingerprints v1", sha256)
        //          hmac(fk, b"w http://127.0.0.1:9000/", sha256).hexdigest()[:12]   -> adb18bf27884
        XCTAssertEqual(auth.urlFingerprint(kind: .webhook, url: target.url), "adb18bf27884")
        // python3: d = hmac(key, b"webhook-worker internal items v1", sha256)
        //          hmac(d, b'msg_ab12_<id> 3 <id>:adb18bf27884 2.1700000000500.1700000030250 {"a":"x y"}', sha256).hexdigest()[:32]
        let delivery = Delivery(webhookID: "msg_ab12_\(target.id)", tries: 3, targetID: target.id, urlFingerprint: "adb18bf27884",
                                rateLimits: 2, heldSince: 1_700_000_000.5, slot: 1_700_000_030.25,
                                raw: Array(#"{"a":"x y"}"#.utf8)[...])
        let stored = QueueItem.encode(delivery, authenticator: auth)
        XCTAssertEqual(String(decoding: stored, as: UTF8.self),
                       #"@157d206a6a21f03df4ba3a21a1b9fd92 msg_ab12_we1caea57b5aaac71 3 we1caea57b5aaac71:adb18bf27884 2.1700000000500.1700000030250 {"a":"x y"}"#)
        XCTAssertEqual(parse(stored).item, .delivery(delivery))
    }

    func testADeliveryOfThePreviousReleaseStillParsesAndReadsAsNeverHeld() {
        // The previous release's format: a bare 32-bit id (no URL fingerprint) and
        // `<rate-limits>.<seconds waited>`.
        // python3: d = hmac(key, b"webhook-worker internal items v1", sha256)
        //          hmac(d, b'msg_ab12_w9173a8db 3 w9173a8db 2.7 {...}', sha256).hexdigest()[:32]
        let stored = Array(#"@62e8a58818488e0bf1393df82c51a2f7 msg_ab12_w9173a8db 3 w9173a8db 2.7 {"a":"with spaces and @ # signs"}"#.utf8)
        XCTAssertEqual(parse(stored).item, .delivery(Delivery(webhookID: "msg_ab12_w9173a8db", tries: 3, targetID: "w9173a8db",
                                                              rateLimits: 2, raw: Array(#"{"a":"with spaces and @ # signs"}"#.utf8)[...])))
    }

    func testAnyChangeToADeliveryMakesItForged() {
        let delivery = Delivery(webhookID: "msg_x_w9173a8db", tries: 0, targetID: target.id, raw: event[...])
        let stored = QueueItem.encode(delivery, authenticator: auth)
        for index in 1..<stored.count where stored[index] != UInt8(ascii: " ") {
            var changed = stored
            changed[index] ^= 0x01
            XCTAssertNotEqual(parse(changed).item, .delivery(delivery), "byte \(index)")
            if case .delivery = parse(changed).item { XCTFail("byte \(index) changed and still a delivery") }
        }
        let other = ItemAuthenticator(keyMaterial: Array("another-key-0123456789".utf8))
        XCTAssertEqual(QueueItem.parse(stored, authenticator: other).item, .forged)
    }

    func testProducerWrittenDeliveriesAreForged() {
        for text in ["@", "@id 1 w http://h/ {}", "@0123456789abcdef0123456789abcdef msg 0 w9173a8db 0.0 {}",
                     "@ 1 w http://h/ {}"] {
            XCTAssertEqual(parse(Array(text.utf8)).item, .forged, text)
        }
    }

    func testMalformedTagsAreRawEvents() {
        for text in ["#", "# x", "#tag", "x"] {
            let bytes = Array(text.utf8)
            XCTAssertEqual(parse(bytes).item, .event(tag: nil, raw: bytes[...]), text)
        }
        XCTAssertEqual(parse([]).item, .event(tag: nil, raw: [][...]))
    }

    func testWebhookIDIsAMACOfTagAndPayload() {
        // python3: hmac(d, b"t1\x00" + event, sha256).hexdigest()[:24]
        XCTAssertEqual(auth.webhookID(tag: Array("t1".utf8), raw: event, target: target),
                       "msg_7937cfcd64ba937f1c5dca47_we1caea57b5aaac71")
        let digest = auth.eventDigest(tag: Array("t1".utf8), raw: event)
        XCTAssertEqual(digest.hex, "7937cfcd64ba937f1c5dca47")
        XCTAssertEqual(WebhookID.derived(digest: digest, targetID: "w"), "msg_7937cfcd64ba937f1c5dca47_w")
        // A producer who copies a real event's tag onto other bytes gets another id.
        XCTAssertNotEqual(auth.webhookID(tag: Array("t1".utf8), raw: event + [0x20], target: target),
                          auth.webhookID(tag: Array("t1".utf8), raw: event, target: target))
        XCTAssertNotEqual(auth.webhookID(tag: Array("t2".utf8), raw: event, target: target),
                          auth.webhookID(tag: Array("t1".utf8), raw: event, target: target))
    }
}
