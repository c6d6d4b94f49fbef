import XCTest
@testable import WebhookCore

/// REDIS_SENTINELS, REDIS_SENTINEL_MASTER and REDIS_SENTINEL_PASSWORD as `Configuration.load`
/// reads them into `RedisURL.sentinel`.
final class RedisSentinelTests: XCTestCase {
    private func error(_ variables: [String: String]) -> ConfigurationError? {
        do throws(ConfigurationError) { _ = try Configuration.load(variables); return nil } catch { return error }
    }

    func testNoSentinelByDefault() throws {
        XCTAssertNil(try Configuration.load([:]).redis.url.sentinel)
        XCTAssertNil(try Configuration.load(["REDIS_SENTINELS": " ", "REDIS_SENTINEL_MASTER": ""]).redis.url.sentinel)
    }

    func testSentinelsMasterAndPasswordTravelInsideTheRedisURL() throws {
        let config = try Configuration.load([
            "REDIS_URL": "redis://:masterpw@ignored:1/2",
            "REDIS_SENTINELS": "10.0.0.1:26379, sentinel-b:26380 ,[::1]:26381,10.0.0.1:26379",
            "REDIS_SENTINEL_MASTER": "mymaster",
            "REDIS_SENTINEL_PASSWORD": "sentinelpw",
        ])
        XCTAssertEqual(config.redis.url.sentinel, RedisSentinel(
            sentinels: [HostPort(host: "10.0.0.1", port: 26379), HostPort(host: "sentinel-b", port: 26380), HostPort(host: "::1", port: 26381)],
            masterName: "mymaster", password: "sentinelpw"))
        // The master's password and database still come from REDIS_URL.
        XCTAssertEqual(config.redis.url.password, "masterpw")
        XCTAssertEqual(config.redis.url.database, 2)
    }

    func testDescriptionNamesMasterAndSentinelsButNoPassword() throws {
        let config = try Configuration.load([
            "REDIS_URL": "redis://:masterpw@h/3", "REDIS_SENTINELS": "a:1,b:2",
            "REDIS_SENTINEL_MASTER": "m", "REDIS_SENTINEL_PASSWORD": "sentinelpw",
        ])
        let text = config.redis.url.description
        XCTAssertEqual(text, "master 'm' via sentinels a:1,b:2, database 3, credentials :***")
        XCTAssertFalse(text.contains("masterpw"))
        XCTAssertFalse(text.contains("sentinelpw"))
    }

    func testBadValuesNameTheirVariable() {
        let cases: [([String: String], String)] = [
            (["REDIS_SENTINELS": "a:26379"], "REDIS_SENTINEL_MASTER"),
            (["REDIS_SENTINEL_MASTER": "m"], "REDIS_SENTINELS"),
            (["REDIS_SENTINEL_PASSWORD": "pw"], "REDIS_SENTINEL_PASSWORD"),
            (["REDIS_SENTINELS": "a", "REDIS_SENTINEL_MASTER": "m"], "REDIS_SENTINELS"),
            (["REDIS_SENTINELS": "a:x", "REDIS_SENTINEL_MASTER": "m"], "REDIS_SENTINELS"),
            (["REDIS_SENTINELS": "a:0", "REDIS_SENTINEL_MASTER": "m"], "REDIS_SENTINELS"),
            (["REDIS_SENTINELS": "a:70000", "REDIS_SENTINEL_MASTER": "m"], "REDIS_SENTINELS"),
            (["REDIS_SENTINELS": ":26379", "REDIS_SENTINEL_MASTER": "m"], "REDIS_SENTINELS"),
            (["REDIS_SENTINELS": "a:1,,b:2", "REDIS_SENTINEL_MASTER": "m"], "REDIS_SENTINELS"),
            (["REDIS_SENTINELS": "::1:26379", "REDIS_SENTINEL_MASTER": "m"], "REDIS_SENTINELS"),
            (["REDIS_SENTINELS": "a:1", "REDIS_SENTINEL_MASTER": "my master"], "REDIS_SENTINEL_MASTER"),
        ]
        for (variables, variable) in cases {
            XCTAssertEqual(error(variables)?.variable, variable, "\(variables)")
        }
    }

    func testErrorsNeverRepeatThePassword() {
        let failure = error(["REDIS_SENTINELS": "a:x", "REDIS_SENTINEL_MASTER": "m", "REDIS_SENTINEL_PASSWORD": "hunter2"])
        XCTAssertNotNil(failure)
        XCTAssertFalse(failure?.description.contains("hunter2") ?? true)
    }
}
