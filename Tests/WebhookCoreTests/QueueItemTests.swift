import XCTest
@testable import WebhookCore

final class QueueItemTests: XCTestCase {
    private let event = Array(#"{"action":"user_created","username":"a b"}"#.utf8)

    func testRawEvent() {
        XCTAssertEqual(QueueItem(parsing: event), .event(tag: nil, raw: event[...]))
        XCTAssertEqual(QueueItem(parsing: event).encoded(), event)
    }

    func testTaggedEventRoundTrip() {
        let stored = Array("#3f9a1c ".utf8) + event
        guard case .event(let tag?, let raw) = QueueItem(parsing: stored) else { return XCTFail("not a tagged event") }
        XCTAssertEqual(tag, "3f9a1c")
        XCTAssertEqual(Array(raw), event)
        XCTAssertEqual(QueueItem(parsing: stored).encoded(), stored)
    }

    func testIdenticalPayloadsWithDifferentTagsStayDistinct() {
        let first = QueueItem.event(tag: "aa01", raw: event[...]).encoded()
        let second = QueueItem.event(tag: "bb02", raw: event[...]).encoded()
        XCTAssertNotEqual(first, second)
        XCTAssertNotEqual(QueueItem(parsing: first), QueueItem(parsing: second))
        let target = Target(kind: .webhook, url: "http://127.0.0.1:9000/")
        XCTAssertNotEqual(QueueItem.webhookID(tag: "aa01", target: target), QueueItem.webhookID(tag: "bb02", target: target))
    }

    func testDeliveryRoundTrip() {
        let delivery = Delivery(webhookID: "msg_ab12_0badc0de", tries: 3,
                                target: Target(kind: .discord, url: "https://discord.com/api/webhooks/1/x?wait=true"),
                                raw: Array("{\"a\":\"with spaces and @ # signs\"}".utf8))
        let stored = QueueItem.delivery(delivery).encoded()
        XCTAssertEqual(String(decoding: stored, as: UTF8.self),
                       "@msg_ab12_0badc0de 3 d https://discord.com/api/webhooks/1/x?wait=true {\"a\":\"with spaces and @ # signs\"}")
        XCTAssertEqual(QueueItem(parsing: stored), .delivery(delivery))
        let webhook = Delivery(webhookID: "id", tries: 0, target: Target(kind: .webhook, url: "http://h/"), raw: [])
        XCTAssertEqual(QueueItem(parsing: QueueItem.delivery(webhook).encoded()), .delivery(webhook))
    }

    func testMalformedItemsAreRawEvents() {
        for text in ["#", "# x", "#tag", "@", "@id 1 w url", "@id x w http://h/ {}", "@id 1 q http://h/ {}",
                     "@id -1 w http://h/ {}", "@id 99999999999 w http://h/ {}", "@ 1 w http://h/ {}", "@id  1 w http://h/ {}"] {
            let bytes = Array(text.utf8)
            XCTAssertEqual(QueueItem(parsing: bytes), .event(tag: nil, raw: bytes[...]), text)
        }
        XCTAssertEqual(QueueItem(parsing: []), .event(tag: nil, raw: [][...]))
    }

    func testWebhookID() {
        // FNV-1a 32 of "w" + url, computed independently:
        // python3 -c 'h=2166136261
        // for b in b"whttp://127.0.0.1:9000/": h=((h^b)*16777619)&0xffffffff
        // print("%08x"%h)'
        let target = Target(kind: .webhook, url: "http://127.0.0.1:9000/")
        XCTAssertEqual(QueueItem.webhookID(tag: "t1", target: target), "msg_t1_\(Self.fnvOfWebhookTarget)")
        let discord = Target(kind: .discord, url: target.url)
        XCTAssertNotEqual(QueueItem.webhookID(tag: "t1", target: discord), QueueItem.webhookID(tag: "t1", target: target))
        XCTAssertEqual(QueueItem.webhookID(tag: "t1", target: discord).count, "msg_t1_".count + 8)
    }

    static let fnvOfWebhookTarget = "9173a8db"
}
