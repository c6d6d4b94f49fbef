import Foundation
import TestSupport
import XCTest

/// Secrets in logs, duplicate worker IDs, the bridge's start-up and grammar, replay by id.
final class EdgeCaseTests: WorkerTestCase {
    func testEndpointCredentialsNeverAppearInLogsStatusOrDeadLetters() async throws {
        let port = try RedisServer.freePort()  // nothing listens: every attempt fails
        let url = "http://operator:pw-LEAK1@127.0.0.1:\(port)/hook/AbCdEf0123456789AbCdEf?token=LEAK2"
        let worker = try startWorker(["WEBHOOK_ADDRESS": url, "NUMBER_OF_RECURRENT_NOTIFICATIONS": "0", "LOG_LEVEL": "trace"])
        try push(2)
        let dead = try await eventuallyAsync(timeout: 30) { try self.llen("dead") == 2 }
        XCTAssertTrue(dead, worker.log.suffix(2000).description)
        await stop(worker)
        let outputs = [worker.log, try cli(["status"]).output, try cli(["dead", "list"]).output,
                       try cli(["dead", "list", "--json"]).output, try redisCLI(["LRANGE", "\(prefix):dead", "0", "-1"])]
        for (index, output) in outputs.enumerated() {
            for secret in ["pw-LEAK1", "LEAK2", "AbCdEf0123456789AbCdEf"] {
                XCTAssertFalse(output.contains(secret), "output \(index) shows \(secret):\n\(output.suffix(2000))")
            }
        }
        XCTAssertTrue(outputs[2].contains("127.0.0.1:\(port)/hook"), "the endpoint is still recognisable: \(outputs[2])")
    }

    func testASecondLiveWorkerWithTheSameIDIsRefused() async throws {
        let sink = try await receiver()
        let first = try startWorker(["WEBHOOK_ADDRESS": sink.url, "WEBHOOK_WORKER_ID": "twin"])
        let joined = try await eventuallyAsync(timeout: 20) { first.log.contains("worker started") }
        XCTAssertTrue(joined)
        let second = try startWorker(["WEBHOOK_ADDRESS": sink.url, "WEBHOOK_WORKER_ID": "twin"])
        let status = await second.exit(timeout: 20)
        XCTAssertNotNil(status)
        XCTAssertNotEqual(status, 0)
        XCTAssertTrue(second.log.contains("WEBHOOK_WORKER_ID"), second.log)
        XCTAssertTrue(first.isRunning)
        await stop(first)
    }

    func testTheBridgeRefusesToRunOpenUnlessToldTo() async throws {
        let port = try RedisServer.freePort()
        let refused = try WorkerProcess(["ingest", "--listen", "127.0.0.1:\(port)"], environment: environment([:]))
        let status = await refused.exit(timeout: 20)
        XCTAssertNotNil(status, "the bridge must exit, not run open:\n\(refused.log)")
        XCTAssertNotEqual(status, 0)
        XCTAssertTrue(refused.log.contains("INGEST_SECRET"), refused.log)
        // Retried on another port if the one found free is taken before the bridge binds it.
        let (open, _) = try await launchOnFreePort("open bridge") { port in
            try WorkerProcess(["ingest", "--listen", "127.0.0.1:\(port)", "--open"], environment: environment([:]))
        }
        defer { open.kill() }
        let listening = try await eventuallyAsync(timeout: 20) { open.log.contains("ingest listening") }
        XCTAssertTrue(listening, open.log)
    }

    func testWhatTheBridgeAcceptsIsDeliveredNeverDeadLettered() async throws {
        let sink = try await receiver()
        // Retried on another port if the one found free is taken; killed in tearDown.
        let (_, base) = try await startBridge(["INGEST_SECRET": "bridge-secret"])
        let worker = try startWorker(["WEBHOOK_ADDRESS": sink.url])
        let bodies = [
            #"[{"action":"","action":"user_created","username":"dup-keys"}]"#,       // the last action counts
            #"{"action":"user_created","username":5,"username":"dup-user"}"#,
            #"{"action":"user_created","username":"u","username":5}"#,              // the last is a number: 400
            "[" + String(repeating: "[", count: 300) + String(repeating: "]", count: 300) + "]",  // too deep
            #"[{"action":"user_created","username":"deep","x":"# + String(repeating: "[", count: 250) + String(repeating: "]", count: 250) + "}]",
        ]
        var accepted = 0
        for body in bodies {
            let status = try Self.post("\(base)/events", body: body, secret: "bridge-secret")
            XCTAssertTrue(status == 202 || status == 400, "\(status) for \(body.prefix(80))")
            if status == 202 { accepted += 1 }
        }
        XCTAssertEqual(accepted, 3)
        _ = try await sink.waitForRequests(count: accepted, timeout: 30)
        try await Task.sleep(nanoseconds: 1_000_000_000)
        XCTAssertEqual(try llen("dead"), 0, "nothing the bridge accepted became a dead letter")
        XCTAssertEqual(Set(try usernames(sink.requests)), ["dup-keys", "dup-user", "deep"])
        await stop(worker)
    }

    func testDeadLettersAreReplayedByID() async throws {
        let flaky = try await receiver(.status(500))
        let worker = try startWorker(["WEBHOOK_ADDRESS": flaky.url, "NUMBER_OF_RECURRENT_NOTIFICATIONS": "0"])
        try push(3)
        let dead = try await eventuallyAsync(timeout: 30) { try self.llen("dead") == 3 }
        XCTAssertTrue(dead)
        let listing = try cli(["dead", "list"]).output
        let ids = listing.split(separator: "\n").compactMap { line -> String? in
            guard let open = line.range(of: "] dl_") else { return nil }
            return String(line[line.index(open.lowerBound, offsetBy: 2)...].prefix { $0 != " " })
        }
        guard ids.count == 3 else { return XCTFail("three dead-letter ids in:\n\(listing)") }
        flaky.setBehaviour(.status(200))
        let replay = try cli(["dead", "replay", ids[1]])
        XCTAssertEqual(replay.status, 0, replay.output)
        XCTAssertTrue(replay.output.contains("replayed 1"), replay.output)
        _ = try await flaky.waitForRequests(count: 4, timeout: 30)
        XCTAssertEqual(try llen("dead"), 2)
        XCTAssertFalse(try cli(["dead", "list"]).output.contains(ids[1]), "the replayed one left the dead list")
        let unknown = try cli(["dead", "replay", "dl_doesnotexist"])
        XCTAssertNotEqual(unknown.status, 0)
        await stop(worker)
    }

    /// A blocking POST with curl (an independent HTTP client); returns the status code.
    static func post(_ url: String, body: String, secret: String) throws -> Int {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-H", "x-webhook-secret: \(secret)",
                             "-H", "Content-Type: application/json", "--data-binary", body, url]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return Int(output) ?? -1
    }
}
