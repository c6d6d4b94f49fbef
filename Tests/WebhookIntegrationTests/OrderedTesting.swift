import Foundation
import TestSupport
import WebhookRedis
import XCTest

/// What the ordered-delivery tests share: the Python receiver, its records, the checker, the
/// producer of numbered events and the endpoints file.
enum OrderedTesting {
    /// One event as the receiver recorded it, in arrival order.
    struct Received {
        let user: String
        let sequence: Int
        let status: String
        /// Distinct users and events in the request that carried it (Marzban-mode batches).
        let usersInRequest: Int
        let eventsInRequest: Int

        var delivered: Bool { status == "200" }
    }

    /// Starts Tests/Fixtures/ordered_receiver.py: `failRate` 500s, `hangRate` answers after
    /// `hang` seconds; `stuck` users (or `user:seq`) always get 500.
    static func receiver(seed: Int = 1, failRate: Double, hangRate: Double = 0, hang: Double = 2,
                         stuck: [String] = []) throws -> FixtureProcess {
        try FixtureProcess("ordered_receiver.py", arguments: [String(seed), String(failRate), String(hangRate),
                                                             String(hang), stuck.joined(separator: ",")])
    }

    static func records(_ receiver: FixtureProcess) async throws -> [Received] {
        let answer = try await HTTPCall.get("http://127.0.0.1:\(receiver.port)/records")
        return try answer.text.split(separator: "\n").map { line in
            let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            let body = try XCTUnwrap(object["body"] as? [String: Any])
            return Received(user: try XCTUnwrap(body["username"] as? String), sequence: try XCTUnwrap(body["seq"] as? Int),
                            status: "\(object["status"] ?? "")", usersInRequest: object["users"] as? Int ?? 0,
                            eventsInRequest: object["n"] as? Int ?? 0)
        }
    }

    /// Distinct events delivered (user/sequence).
    static func deliveredCount(_ receiver: FixtureProcess) async throws -> Int {
        Set(try await records(receiver).filter(\.delivered).map { "\($0.user)/\($0.sequence)" }).count
    }

    static func check(_ received: [Received], users: [String], perUser: Int, skipped: [String: Set<Int>] = [:],
                      batched: Bool = false) -> [String] {
        OrderChecker.violations(received.map { OrderChecker.Record(key: $0.user, sequence: $0.sequence, delivered: $0.delivered) },
                                keys: users, expected: perUser, skipped: skipped, batched: batched)
    }

    /// Enqueues `perUser` events (`seq` 0, 1, ...) for each user, event-major (every user's
    /// event 0, then every user's event 1, ...), so each user's events interleave with the rest.
    static func enqueue(_ producer: EventProducer, users: [String], perUser: Int) throws {
        let now = Date().timeIntervalSince1970
        for sequence in 0..<perUser {
            var batch: [[UInt8]] = []
            for user in users {
                batch.append(try EventProducer.event(action: "user_modified", username: user, fields: [("seq", .integer(sequence))], now: now))
                if batch.count == 500 { try producer.enqueue(batch); batch = [] }
            }
            if !batch.isEmpty { try producer.enqueue(batch) }
        }
    }

    /// An endpoints file (written to a temporary path) and the settings of these tests: a short
    /// lease and timeout, fast and many retries.
    static func environment(_ yaml: String) throws -> [String: String] {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("ordered-\(UUID().uuidString).yaml")
        try Data(yaml.utf8).write(to: url)
        // 32 requests per worker: more only queue up in the one-process Python receiver and
        // time out there.
        return ["WEBHOOK_ENDPOINTS_FILE": url.path, "WEBHOOK_LEASE": "3", "WEBHOOK_TIMEOUT": "1",
                "NUMBER_OF_RECURRENT_NOTIFICATIONS": "40", "RECURRENT_NOTIFICATIONS_TIMEOUT": "0.1",
                "WEBHOOK_CONCURRENCY": "32", "LOG_LEVEL": "info"]
    }
}
