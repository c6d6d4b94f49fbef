import Foundation
import TestSupport
import WebhookCore
import WebhookRedis
import XCTest

/// RedisConnection, authentication and EventProducer against a real redis-server.
final class RedisConnectionTests: XCTestCase {
    private let prefix = "t"

    func testConnectionErrorsAreReportedAndTheQueueReconnectsAfterRestart() throws {
        let server = try RedisServer()
        defer { server.stop() }
        let queue = RedisQueue(url: server.url, prefix: prefix, workerID: "w1")
        try queue.ping()

        server.kill()
        for _ in 0..<2 {  // the broken connection, then a refused reconnect
            XCTAssertThrowsError(try queue.ping()) { error in
                XCTAssertTrue((error as? RedisError)?.isConnectionError == true, "\(error)")
            }
        }
        try server.restart()
        try queue.ping()
        XCTAssertEqual(try queue.heartbeat(join: true, leaseMillis: 1_000), .alive)
    }

    func testAServerThatStopsAnsweringTimesOutAsAConnectionError() throws {
        let server = try RedisServer()
        defer { server.stop() }
        let redis = try RedisConnection(url: server.url, readTimeout: 0.5)
        XCTAssertEqual(try server.redisCLI("CLIENT", "PAUSE", "3000", "ALL"), "OK")
        for _ in 0..<2 {  // the timed-out call, then the unusable connection
            XCTAssertThrowsError(try redis.command("PING")) { error in
                XCTAssertTrue((error as? RedisError)?.isConnectionError == true, "\(error)")
                XCTAssertTrue("\(error)".contains("read timeout"), "\(error)")
            }
        }
    }

    func testAuthWithPasswordAndUsernameAndSelect() throws {
        let password = "s3cret-Pa55"
        let server = try RedisServer(password: password)
        defer { server.stop() }
        let queue = RedisQueue(url: server.url(database: 3), prefix: prefix, workerID: "w1")
        XCTAssertEqual(try queue.heartbeat(join: true, leaseMillis: 1_000), .alive)
        XCTAssertNotEqual(try server.redisCLI("-n", "3", "ZSCORE", "t:workers", "w1"), "")
        XCTAssertEqual(try server.redisCLI("-n", "0", "EXISTS", "t:workers"), "0")

        XCTAssertEqual(try server.redisCLI("ACL", "SETUSER", "alice", "on", ">alice-pw", "~*", "+@all"), "OK")
        try RedisQueue(url: server.url(database: 0, username: "alice", password: "alice-pw"), prefix: prefix, workerID: "w").ping()

        let wrong = "not-the-Pa55word"
        XCTAssertThrowsError(try RedisConnection(url: server.url(database: 0, password: wrong))) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("AUTH"), text)
            XCTAssertFalse(text.contains(wrong), "the password must never appear: \(text)")
            XCTAssertFalse(text.contains(password), "the password must never appear: \(text)")
        }
    }

    func testEventBuilderFieldRules() throws {
        let bytes = try EventProducer.event(action: "a", username: "u", fields: [
            ("x", "1"), ("action", "b"), ("x", 2), ("n", nil), ("f", 1.5), ("s", JSONValue(argument: "\"3\"")),
        ], now: 1)
        XCTAssertEqual(String(decoding: bytes, as: UTF8.self),
                       #"{"username":"u","action":"b","enqueued_at":1.000000,"x":2,"n":null,"f":1.5,"s":"3"}"#)
        XCTAssertThrowsError(try EventProducer.event(action: "a", username: "u", fields: [("bad", .number(.nan))], now: 1))
        XCTAssertThrowsError(try JSONValue(json: "{not json"))
    }

    func testMaxmemoryPolicy() throws {
        let server = try RedisServer()
        defer { server.stop() }
        XCTAssertEqual(try RedisQueue(url: server.url, prefix: prefix, workerID: "w").maxmemoryPolicy(), "noeviction")
        let locked = try RedisServer(extraArguments: ["--rename-command", "CONFIG", ""])
        defer { locked.stop() }
        XCTAssertNil(try RedisQueue(url: locked.url, prefix: prefix, workerID: "w").maxmemoryPolicy())
    }

    func testEventProducerRoundTrip() throws {
        let server = try RedisServer()
        defer { server.stop() }
        let producer = try EventProducer(url: server.url, prefix: prefix)
        try producer.enqueue(action: "user_created", username: "alice", fields: [
            ("used_percent", 80),
            ("by", JSONValue(argument: #"{"username":"admin","is_sudo":true}"#)),
            ("reason", JSONValue(argument: "quota / reached")),
        ], now: 1_680_506_457.636369)
        let binary: [UInt8] = [0x7B, 0x00, 0xFF, 0x0D, 0x0A, 0x7D]  // NUL, invalid UTF-8, CRLF
        try producer.enqueue([Array("first".utf8), binary])

        // Read back over a raw connection: redis-cli output is not binary-safe.
        let queued = (try RedisConnection(url: server.url).command("LRANGE", "t:queue", "0", "-1").array ?? []).compactMap(\.bytes)
        XCTAssertEqual(queued.count, 3)
        let expected = #"{"username":"alice","action":"user_created","enqueued_at":1680506457.636369,"#
            + #""used_percent":80,"by":{"username":"admin","is_sudo":true},"reason":"quota / reached"}"#
        // LPUSH: the first event pushed is at the right end.
        XCTAssertEqual(String(decoding: queued[2], as: UTF8.self), expected)
        let event = try Event.parse(queued[2], maxBytes: 1 << 20, now: 0)
        XCTAssertEqual(event.action, "user_created")
        XCTAssertEqual(event.username, "alice")
        XCTAssertEqual(queued[1], Array("first".utf8))
        XCTAssertEqual(queued[0], binary, "binary-safe end to end")
    }
}
