import Foundation
import TestSupport
import XCTest

/// The test helpers themselves: a helper that turned a failure into a number would let
/// "the processing list is empty" pass while Redis is down.
final class TestSupportTests: XCTestCase {
    func testRedisCLIThrowsOnErrorRepliesAndWhenRedisIsDown() throws {
        let redis = try RedisServer()
        XCTAssertEqual(try redis.cli.run("SET", "k", "v"), "OK")
        XCTAssertEqual(try redis.cli.int("LLEN", "missing"), 0)
        XCTAssertThrowsError(try redis.cli.int("LLEN", "k"), "WRONGTYPE is an error, not a length")
        XCTAssertThrowsError(try redis.cli.int("GET", "k"), "a string reply is not an integer")
        XCTAssertEqual(try redis.cli.lines("KEYS", "nothing:*"), [])
        XCTAssertThrowsError(try redis.cli.lines("LRANGE", "k", "0", "-1"), "WRONGTYPE is an error, not an element")
        redis.kill()
        XCTAssertThrowsError(try redis.cli.int("LLEN", "missing"), "no server is an error, not 0")
        XCTAssertThrowsError(try redis.cli.lines("KEYS", "*"), "no server is an error, not an empty list")
    }

    func testEventuallyReportsTheLastValueSeen() async throws {
        var calls = 0
        do {
            try await eventually("counting to a million", timeout: 0.3, interval: 0.01, {
                calls += 1
                return calls
            }, until: { $0 >= 1_000_000 })
            XCTFail("cannot count to a million in 0.3 s this way")
        } catch let error as EventuallyTimeout {
            XCTAssertTrue(error.description.contains("counting to a million"), error.description)
            XCTAssertTrue(error.description.contains("last value: \(calls)"), error.description)
        }
        let value = try await eventually("reaching 3", timeout: 5, interval: 0.01, {
            calls = calls >= 3 ? calls : 3
            return calls
        }, until: { $0 >= 3 })
        XCTAssertGreaterThanOrEqual(value, 3)
    }

    func testPrometheusTextParsesNamesLabelsAndValues() {
        let text = """
            # HELP webhook_deliveries_total x
            # TYPE webhook_deliveries_total counter
            webhook_deliveries_total{outcome="delivered",status_class="2xx"} 5
            webhook_deliveries_total{outcome="retry",status_class="5xx"} 2.5
            # TYPE webhook_queue_depth gauge
            webhook_queue_depth 3
            """
        let metrics = PrometheusText(text)
        XCTAssertEqual(metrics.value("webhook_deliveries_total"), 7.5)
        XCTAssertEqual(metrics.value("webhook_deliveries_total", ["outcome": "retry"]), 2.5)
        XCTAssertNil(metrics.value("webhook_deliveries_total", ["outcome": "dead"]))
        XCTAssertEqual(metrics.labelValues("webhook_deliveries_total", "status_class"), ["2xx", "5xx"])
        XCTAssertEqual(metrics.value("webhook_queue_depth"), 3)
        XCTAssertEqual(metrics.types, ["webhook_deliveries_total": "counter", "webhook_queue_depth": "gauge"])
    }
}
