import XCTest
@testable import WebhookCore

final class RedisURLTests: XCTestCase {
    private func parse(_ text: String) -> RedisURL? { try? RedisURL(parsing: text) }

    func testForms() {
        XCTAssertEqual(parse("redis://127.0.0.1:6379/0"), RedisURL(host: "127.0.0.1", port: 6379, database: 0))
        XCTAssertEqual(parse("redis://h"), RedisURL(host: "h"))
        XCTAssertEqual(parse("redis://h/"), RedisURL(host: "h"))
        XCTAssertEqual(parse("REDIS://h:7000/15"), RedisURL(host: "h", port: 7000, database: 15))
        XCTAssertEqual(parse("redis://:p%40ss@h:1/3"), RedisURL(host: "h", port: 1, password: "p@ss", database: 3))
        XCTAssertEqual(parse("redis://user:pw@h"), RedisURL(host: "h", username: "user", password: "pw"))
        XCTAssertEqual(parse("redis://user@h"), RedisURL(host: "h", username: "user"))
        XCTAssertEqual(parse("redis://:a@b/c@h:6380"), RedisURL(host: "h", port: 6380, password: "a@b/c"))
        XCTAssertEqual(parse("redis://[::1]:6390/1"), RedisURL(host: "::1", port: 6390, database: 1))
        XCTAssertEqual(parse("10.1.2.3:6380"), RedisURL(host: "10.1.2.3", port: 6380))
        XCTAssertEqual(parse("localhost"), RedisURL(host: "localhost"))
    }

    func testRejections() {
        for text in ["rediss://h:6379", "http://h", "redis://", "redis://h:0", "redis://h:70000", "redis://h:x",
                     "redis://h/-1", "redis://h/db", "redis://h?db=1", "redis://a:b:c", "redis://[::1"] {
            XCTAssertNil(parse(text), text)
        }
        do {
            _ = try RedisURL(parsing: "rediss://:pw@h")
            XCTFail("accepted")
        } catch {
            XCTAssertEqual(error.variable, "REDIS_URL")
            XCTAssertTrue(error.message.contains("TLS"))
        }
    }

    func testDescriptionRedactsThePassword() {
        XCTAssertEqual(parse("redis://user:s3cret@h:1/2")?.description, "redis://user:***@h:1/2")
        XCTAssertEqual(parse("redis://:s3cret@h")?.description, "redis://:***@h:6379/0")
        XCTAssertEqual(parse("h")?.description, "redis://h:6379/0")
        XCTAssertEqual(parse("redis://[::1]")?.description, "redis://[::1]:6379/0")
    }

    func testHostPort() throws {
        XCTAssertEqual(try HostPort(parsing: "127.0.0.1:9100", variable: "X"), HostPort(host: "127.0.0.1", port: 9100))
        XCTAssertEqual(try HostPort(parsing: ":0", variable: "X"), HostPort(host: "0.0.0.0", port: 0))
        XCTAssertEqual(try HostPort(parsing: "[::1]:80", variable: "X"), HostPort(host: "::1", port: 80))
        XCTAssertEqual(HostPort(host: "::1", port: 80).description, "[::1]:80")
        XCTAssertEqual(HostPort(host: "h", port: 80).description, "h:80")
        for text in ["9100", "h:", "h:65536", "::1:80", "[::1]80", "a b:1"] {
            XCTAssertThrowsError(try HostPort(parsing: text, variable: "INGEST_LISTEN"), text) { error in
                XCTAssertEqual((error as? ConfigurationError)?.variable, "INGEST_LISTEN")
            }
        }
    }
}
