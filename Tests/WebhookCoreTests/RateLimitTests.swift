import XCTest
@testable import WebhookCore

final class RateLimitTests: XCTestCase {
    func testParsesPerSecondAndPerMinute() {
        XCTAssertEqual(RateLimit(parsing: "20/s"), RateLimit(count: 20, per: .second))
        XCTAssertEqual(RateLimit(parsing: "30/m"), RateLimit(count: 30, per: .minute))
        XCTAssertEqual(RateLimit(parsing: " 5 / min "), RateLimit(count: 5, per: .minute))
        XCTAssertEqual(RateLimit(parsing: "1/SEC"), RateLimit(count: 1, per: .second))
        XCTAssertEqual(RateLimit(parsing: "1000000/s")?.count, 1_000_000)
        for bad in ["20 per second", "20", "/s", "0/s", "-1/s", "1.5/s", "20/h", "20/s/m", "1e3/s", "1000001/s", "99999999999999999999/s", ""] {
            XCTAssertNil(RateLimit(parsing: bad), bad)
        }
        XCTAssertNil(RateLimit(count: 0, per: .second))
    }

    func testIntervalAndDescription() {
        XCTAssertEqual(RateLimit(count: 20, per: .second)!.interval, 0.05)
        XCTAssertEqual(RateLimit(count: 30, per: .minute)!.interval, 2)
        XCTAssertEqual(RateLimit(count: 30, per: .minute)!.periodSeconds, 60)
        XCTAssertEqual(RateLimit(count: 20, per: .second)!.description, "20/s")
        XCTAssertEqual(RateLimit(count: 30, per: .minute)!.description, "30/m")
    }

    func testServiceDefaults() {
        XCTAssertEqual(RateLimit.discordDefault, RateLimit(count: 30, per: .minute))
        XCTAssertEqual(RateLimit.telegramDefault(chatID: "123456"), RateLimit(count: 1, per: .second))
        XCTAssertEqual(RateLimit.telegramDefault(chatID: "-1001234567890"), RateLimit(count: 20, per: .minute))
        XCTAssertEqual(RateLimit.telegramDefault(chatID: "@channel"), RateLimit(count: 20, per: .minute))
    }
}
