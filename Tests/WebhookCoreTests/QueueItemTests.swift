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

    func testTargetIDIsKindAndFNVOfKindAndURL() {
        // python3 -c 'h=2166136261
        // for b in b"whttp://127.0.0.1:9000/": h=((h^b)*16777619)&0xffffffff
        // print("%08x"%h)'   -> 9173a8db
        XCTAssertEqual(target.id, "w9173a8db")
        XCTAssertNotEqual(Target(kind: .discord, url: target.url).id, target.id)
    }

    func testDeliveryIsAuthenticatedByAnIndependentlyComputedMAC() {
        // python3: d = hmac(key, b"webhook-worker internal items v1", sha256)
        //          hmac(d, b'msg_ab12_w9173a8db 3 w9173a8db 2.1700000000500.1700000030250 {...}', sha256).hexdigest()[:32]
        let delivery = Delivery(webhookID: "msg_ab12_w9173a8db", tries: 3, targetID: target.id, rateLimits: 2,
                                heldSince: 1_700_000_000.5, slot: 1_700_000_030.25,
                                raw: Array(#"{"a":"with spaces and @ # signs"}"#.utf8)[...])
        let stored = QueueItem.encode(delivery, authenticator: auth)
        XCTAssertEqual(String(decoding: stored, as: UTF8.self),
                       #"@558ff9be68297d1c6452b8262f02ccf5 msg_ab12_w9173a8db 3 w9173a8db 2.1700000000500.1700000030250 {"a":"with spaces and @ # signs"}"#)
        XCTAssertEqual(parse(stored).item, .delivery(delivery))
    }

    func testADeliveryWrittenWithSecondsWaitedReadsAsNeverHeld() {
        // The format before hold times were measured: `<rate-limits>.<seconds waited>`.
        let stored = Array(#"@62e8a58818488e0bf1393df82c51a2f7 msg_ab12_w9173a8db 3 w9173a8db 2.7 {"a":"with spaces and @ # signs"}"#.utf8)
        XCTAssertEqual(parse(stored).item, .delivery(Delivery(webhookID: "msg_ab12_w9173a8db", tries: 3, targetID: target.id,
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
                       "msg_7937cfcd64ba937f1c5dca47_w9173a8db")
        // A producer who copies a real event's tag onto other bytes gets another id.
        XCTAssertNotEqual(auth.webhookID(tag: Array("t1".utf8), raw: event + [0x20], target: target),
                          auth.webhookID(tag: Array("t1".utf8), raw: event, target: target))
        XCTAssertNotEqual(auth.webhookID(tag: Array("t2".utf8), raw: event, target: target),
                          auth.webhookID(tag: Array("t1".utf8), raw: event, target: target))
    }
}
