import Foundation
import TestSupport
import WebhookCore
import XCTest

/// `webhook-worker log` end to end: a real worker delivers to real receivers through a real
/// redis-server, and the command's filters, output forms and `--follow` are read as a user
/// reads them.
final class AttemptLogCommandTests: WorkerTestCase {
    private let billingSecret = "s3cret-billing-value"

    /// billing answers 200 echoing its secret (to show the redaction); ops always 500, so each
    /// event there ends as a retry and a dead letter (one retry, 1 s apart).
    private func startFleet() async throws -> (billing: HTTPReceiver, ops: HTTPReceiver, worker: WorkerProcess) {
        let secret = billingSecret
        let billing = try await receiver(.respond { _, _ in .status(200, body: "ok \(secret)") })
        let ops = try await receiver(.respond { _, _ in .status(500, body: "down") })
        let file = """
        endpoints:
          - name: billing
            url: \(billing.url)
            secret: "\(billingSecret)"
          - name: ops
            url: \(ops.url)
        """
        let worker = try WorkerProcess(["run"], environment: environment([
            "WEBHOOK_ENDPOINTS_FILE": "endpoints.yaml", "NUMBER_OF_RECURRENT_NOTIFICATIONS": "1",
            "RECURRENT_NOTIFICATIONS_TIMEOUT": "1",
        ]), files: ["endpoints.yaml": file])
        return (billing, ops, worker)
    }

    private func records(_ arguments: [String]) async throws -> [[String: Any]] {
        let result = try await command(["log", "--json"] + arguments)
        XCTAssertEqual(result.status, 0, result.stderr)
        return try result.stdout.split(separator: "\n").map {
            try XCTUnwrap(JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any], String($0))
        }
    }

    func testEveryFilterAndTheirCombination() async throws {
        let (_, _, worker) = try await startFleet()
        defer { worker.kill() }
        try lpush([#"{"action":"user_created","username":"alice"}"#, #"{"action":"user_deleted","username":"bob"}"#])
        // billing: 2 delivered; ops: 2 retries then 2 dead.
        try await waitFor("6 records, nothing pending", {
            ["log": try llen("log"), "dead": try llen("dead"), "delayed": try zcard("delayed"), "processing": try processingTotal()]
        }, until: { $0 == ["log": 6, "dead": 2, "delayed": 0, "processing": 0] })
        // An old record (written an hour ago) and an entry no worker wrote, at the old end.
        let hourAgo = AttemptRecord(time: UInt64(Date().timeIntervalSince1970 * 1000) - 3_600_000, webhookID: "msg_old", action: "user_created",
                                    user: "carol", endpoint: "billing", attempt: 1, outcome: .delivered, status: 200, latencyMs: 3)
        _ = try redisCLI(["RPUSH", "\(prefix):log", String(decoding: hourAgo.stored(), as: UTF8.self), "junk"])

        let all = try await records([])
        XCTAssertEqual(all.count, 7, "\(all)")
        let times = all.compactMap { $0["time"] as? Int }
        XCTAssertEqual(times, times.sorted(by: >), "newest first")

        let ops = try await records(["--endpoint", "ops"])
        XCTAssertEqual(ops.count, 4)
        XCTAssertEqual(Set(ops.map { $0["endpoint"] as? String }), ["ops"])
        let retry = try XCTUnwrap(ops.first { $0["outcome"] as? String == "retry" && $0["user"] as? String == "alice" })
        XCTAssertEqual(retry["status"] as? Int, 500)
        XCTAssertEqual(retry["error"] as? String, "status")
        XCTAssertEqual(retry["response"] as? String, "down")
        XCTAssertEqual(retry["attempt"] as? Int, 1)
        XCTAssertEqual(retry["action"] as? String, "user_created")
        XCTAssertNotNil(retry["latency_ms"] as? Int)

        let alice = try await records(["--user", "alice"])
        XCTAssertEqual(Set(alice.map { $0["endpoint"] as? String ?? "" }), ["billing", "ops"])
        XCTAssertEqual(alice.count, 3)
        let deleted = try await records(["--action", "user_deleted"])
        XCTAssertEqual(deleted.count, 3)
        XCTAssertEqual(Set(deleted.map { $0["user"] as? String }), ["bob"])
        let dead = try await records(["--outcome", "dead"])
        XCTAssertEqual(dead.count, 2)
        XCTAssertEqual(dead.map { $0["attempt"] as? Int }, [2, 2])
        let r3 = try await records(["--outcome", "rate_limited"])
        XCTAssertEqual(r3.count, 0)
        let r4 = try await records(["--outcome", "delivered"])
        XCTAssertEqual(r4.count, 3)

        let id = try XCTUnwrap(retry["webhook_id"] as? String)
        let timeline = try await records(["--id", id])
        XCTAssertEqual(timeline.map { $0["outcome"] as? String }, ["dead", "retry"], "one event at one endpoint, newest first")

        let r5 = try await records(["--since", "10m"])
        XCTAssertEqual(r5.count, 6, "the hour-old record is left out")
        let r6 = try await records(["--since", "2h", "--user", "carol"])
        XCTAssertEqual(r6.count, 1)
        let r7 = try await records(["--limit", "2"])
        XCTAssertEqual(r7.map { $0["time"] as? Int }, Array(times.prefix(2)))
        let combined = try await records(["--endpoint", "ops", "--outcome", "retry", "--user", "bob", "--action", "user_deleted"])
        XCTAssertEqual(combined.count, 1)
        XCTAssertEqual(combined.first?["user"] as? String, "bob")

        // People's form: one line each, secrets masked.
        let text = try await command(["log", "--endpoint", "billing", "--since", "10m"])
        XCTAssertEqual(text.status, 0, text.stderr)
        let lines = text.stdout.split(separator: "\n")
        XCTAssertEqual(lines.count, 2, text.stdout)
        XCTAssertTrue(lines.allSatisfy { $0.contains("  delivered  billing  ") && $0.contains(#""ok ***""#) }, text.stdout)
        XCTAssertFalse(text.stdout.contains(billingSecret))
        let r8 = try await command(["log", "--json"])
        XCTAssertFalse(r8.stdout.contains(billingSecret))

        let bad = try await command(["log", "--outcome", "exploded"])
        XCTAssertNotEqual(bad.status, 0)
        XCTAssertTrue(bad.stderr.contains("--outcome"), bad.stderr)
        let badSince = try await command(["log", "--since", "soon"])
        XCTAssertNotEqual(badSince.status, 0)
        XCTAssertTrue(badSince.stderr.contains("--since"), badSince.stderr)
    }

    func testFollowPrintsNewRecordsUntilCtrlC() async throws {
        let target = try await receiver()
        let worker = try startWorker(["WEBHOOK_ADDRESS": target.url])
        defer { worker.kill() }
        let follower = try WorkerProcess(["log", "--follow", "--json", "--action", "user_created", "--poll-interval", "0.1"],
                                         environment: environment([:]))
        defer { follower.kill() }
        func followed() throws -> [String] {
            try follower.stdout.split(separator: "\n").map { line in
                let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], String(line))
                return object["user"] as? String ?? "?"
            }
        }
        try lpush([#"{"action":"user_created","username":"first"}"#])
        try await waitFor("the first record", { try followed() }, until: { $0 == ["first"] })
        try lpush([#"{"action":"user_deleted","username":"filtered-out"}"#, #"{"action":"user_created","username":"second"}"#])
        _ = try await target.waitForRequests(count: 3, timeout: 30)
        try lpush([#"{"action":"user_created","username":"third"}"#])
        try await waitFor("the new records, oldest first", { try followed() }, until: { $0 == ["first", "second", "third"] })
        XCTAssertTrue(follower.isRunning, "it keeps following")
        follower.interrupt()
        let status = await follower.exit(timeout: 10)
        XCTAssertEqual(status, 0, "Ctrl-C ends the tail normally: \(follower.log)")
    }

    func testDeliveriesGoOnWhileTheLogCannotBeWritten() async throws {
        let target = try await receiver()
        _ = try redisCLI(["SET", "\(prefix):log", "not a list"])
        let worker = try startWorker(["WEBHOOK_ADDRESS": target.url])
        defer { worker.kill() }
        try push(30)
        _ = try await target.waitForRequests(count: 30, timeout: 30)
        try await waitFor("everything settled", { ["queue": try llen("queue"), "processing": try processingTotal()] },
                          until: { $0 == ["queue": 0, "processing": 0] })
        XCTAssertEqual(target.count, 30, "each once")
        XCTAssertEqual(try redis.cli.run(["GET", "\(prefix):log"]), "not a list")
        try await waitFor("the warning", { worker.log }, until: { $0.contains("could not write the attempt log") })
        let result = try await command(["log"])
        XCTAssertNotEqual(result.status, 0, "reading a key of another type is an error, said as such")
        XCTAssertTrue(result.stderr.contains("WRONGTYPE"), result.stderr)
    }

    func testWebhookLogMaxZeroWritesNothing() async throws {
        let target = try await receiver()
        let worker = try startWorker(["WEBHOOK_ADDRESS": target.url, "WEBHOOK_LOG_MAX": "0"])
        defer { worker.kill() }
        try push(5)
        _ = try await target.waitForRequests(count: 5, timeout: 30)
        try await waitFor("settled", { try processingTotal() }, until: { $0 == 0 })
        XCTAssertEqual(try redis.cli.int(["EXISTS", "\(prefix):log"]), 0)
    }
}
