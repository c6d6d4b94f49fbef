import TestSupport
import WebhookRedis
import XCTest

/// A fresh redis-server for each test, a raw connection to inspect its keys, and the key
/// prefix `t` (key names in assertions are spelled out literally: they are the documented layout).
class RedisServerTestCase: XCTestCase {
    let prefix = "t"
    var server: RedisServer!
    var redis: RedisConnection!

    override func setUpWithError() throws {
        server = try RedisServer()
        redis = try RedisConnection(url: server.url)
    }

    override func tearDown() {
        server?.stop()
    }

    /// A list's items, oldest last, read with the raw connection.
    func list(_ key: String) throws -> [[UInt8]] {
        (try redis.command("LRANGE", key, "0", "-1").array ?? []).compactMap(\.bytes)
    }
}
