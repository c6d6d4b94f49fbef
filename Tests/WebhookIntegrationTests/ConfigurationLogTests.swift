import Foundation
import TestSupport
import WebhookRedis
import XCTest

/// LOG_FORMAT=json and the start-up configuration line, from the real binary: every line of its
/// output parses as JSON, the configuration line shows where each value came from, and no
/// secret appears anywhere.
final class ConfigurationLogTests: WorkerTestCase {
    func testJSONLinesShowEachSourceAndNoSecret() async throws {
        let secrets = ["redis-pass-1a2b", "env-secret-3c4d", "basic-pass-5e6f", "query-token-7a8b",
                       "discord-token-9c0d", "ingest-secret-1e2f"]
        let protected = try RedisServer(password: "redis-pass-1a2b")
        let endpoint = try await receiver()
        let discord = try await receiver(.status(204))
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("config-log-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let envFile = directory.appendingPathComponent("worker.env")
        let discordURL = discord.baseURL + "/api/webhooks/123456/discord-token-9c0d"
        try """
            # .env: lowest precedence
            WEBHOOK_TIMEOUT=7
            WEBHOOK_COMPAT=marzban
            INGEST_SECRET=ingest-secret-1e2f
            DISCORD_WEBHOOK_URL=\(discordURL)
            WEBHOOK_ADRESS=http://typo.example/
            """.write(to: envFile, atomically: true, encoding: .utf8)
        let address = endpoint.url.replacingOccurrences(of: "http://", with: "http://bob:basic-pass-5e6f@")
            + "?token=query-token-7a8b"
        let worker = try WorkerProcess(
            ["run", "--env-file", envFile.path, "--redis-url", "redis://:redis-pass-1a2b@127.0.0.1:\(protected.port)/0",
             "--set", "WEBHOOK_CONCURRENCY=7", "--prefix", prefix],
            environment: [
                "LOG_FORMAT": "json",
                "LOG_LEVEL": "debug",
                "WEBHOOK_COMPAT": "standard",          // the environment beats .env
                "WEBHOOK_SECRET": "env-secret-3c4d",
                "WEBHOOK_ADDRESS": address,
                "WEBHOOK_WORKER_ID": #"w"quote\back"#,  // escaping through real output
                "JOB_SEND_NOTIFICATIONS_INTERVAL": "1",
            "WEBHOOK_BREAKER_FAILURES": "1000000",  // retry tests fail many deliveries in a row
            ])
        let workerStarted = try await eventuallyAsync(timeout: 30) { worker.log.contains("worker started") }
        XCTAssertTrue(workerStarted, worker.log)
        let producer = try EventProducer(url: protected.url, prefix: prefix)
        try producer.enqueue(action: "user_created", username: "alice", fields: [], now: Date().timeIntervalSince1970)
        _ = try await endpoint.waitForRequests(count: 1, timeout: 30)
        _ = try await discord.waitForRequests(count: 1, timeout: 30)
        worker.terminate()
        let exitStatus = await worker.exit(timeout: 20)
        XCTAssertEqual(exitStatus, 0, worker.log)

        let output = worker.log
        let iso8601 = ISO8601DateFormatter()
        iso8601.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        var lines: [[String: Any]] = []
        for line in output.split(separator: "\n") {
            let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
            lines.append(try XCTUnwrap(object, "not a JSON object: \(line)"))
        }
        XCTAssertGreaterThan(lines.count, 3)
        for line in lines {
            XCTAssertNotNil(line["level"] as? String)
            XCTAssertNotNil(line["message"] as? String)
            XCTAssertNotNil(line["label"] as? String)
            let time = try XCTUnwrap(line["time"] as? String)
            XCTAssertTrue(time.hasSuffix("Z") && time.contains("."), time)
            XCTAssertNotNil(iso8601.date(from: time), time)
        }
        let first = try XCTUnwrap(lines.first)
        XCTAssertEqual(first["message"] as? String, "configuration", "the configuration is the first line")
        XCTAssertEqual(first["level"] as? String, "info")
        XCTAssertEqual(first["env_file"] as? String, envFile.path)
        let settings = try XCTUnwrap(first["configuration"] as? [String: [String: String]], "\(first)")

        func check(_ name: String, _ value: String, _ source: String, line: UInt = #line) {
            XCTAssertEqual(settings[name]?["value"], value, name, line: line)
            XCTAssertEqual(settings[name]?["source"], source, name, line: line)
        }
        check("WEBHOOK_CONCURRENCY", "7", "flag")
        check("REDIS_KEY_PREFIX", prefix, "flag")
        check("REDIS_URL", "redis://:***@127.0.0.1:\(protected.port)/0", "flag")
        check("WEBHOOK_COMPAT", "standard", "environment")
        check("WEBHOOK_SECRET", "***", "environment")
        check("LOG_FORMAT", "json", "environment")
        check("WEBHOOK_WORKER_ID", #"w"quote\back"#, "environment")
        check("WEBHOOK_ADDRESS", endpoint.url.replacingOccurrences(of: "http://", with: "http://***@") + "?token=***", "environment")
        check("WEBHOOK_TIMEOUT", "7", ".env")
        check("INGEST_SECRET", "***", ".env")
        check("DISCORD_WEBHOOK_URL", discord.baseURL + "/api/webhooks/123456/***", ".env")
        check("WEBHOOK_BATCH_SIZE", "256", "default")
        check("WEBHOOK_LEASE", "30", "default")
        XCTAssertGreaterThanOrEqual(settings.count, 25, "every known variable: \(settings.keys.sorted())")

        let unknown = try XCTUnwrap(lines.first { ($0["message"] as? String)?.hasPrefix("unknown variables") == true })
        XCTAssertEqual(unknown["variables"] as? [String], ["WEBHOOK_ADRESS (.env)"])
        let started = try XCTUnwrap(lines.first { $0["message"] as? String == "worker started" })
        XCTAssertEqual(started["worker_id"] as? String, #"w"quote\back"#)

        for secret in secrets {
            XCTAssertFalse(output.contains(secret), "\(secret) appears in the output:\n\(output)")
        }
    }

    func testAFatalErrorIsAJSONLineToo() throws {
        // A port already taken: the bridge cannot bind and exits.
        let (taken, port) = try occupiedTCPPort()
        defer { close(taken) }
        let (status, output) = try cli(["ingest", "--listen", "127.0.0.1:\(port)"], ["LOG_FORMAT": "json", "INGEST_SECRET": "s"])
        XCTAssertNotEqual(status, 0, output)
        let lines = try output.split(separator: "\n").map { line in
            try XCTUnwrap(try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], "not JSON: \(line)")
        }
        let last = try XCTUnwrap(lines.last)
        XCTAssertEqual(last["level"] as? String, "critical", output)
        XCTAssertTrue((last["error"] as? String)?.contains("in use") == true, output)
    }

    func testUnknownLogFormatStopsStartUpNamingIt() throws {
        let (status, output) = try cli(["status"], ["LOG_FORMAT": "xml"])
        XCTAssertNotEqual(status, 0)
        XCTAssertTrue(output.contains("LOG_FORMAT"), output)
        XCTAssertTrue(output.contains("xml"), output)
    }

    func testOneShotCommandsLogTheConfigurationAtDebug() throws {
        let quiet = try cli(["status", "--json"], ["LOG_LEVEL": "info", "LOG_FORMAT": "json"])
        XCTAssertEqual(quiet.status, 0, quiet.output)
        XCTAssertFalse(quiet.output.contains(#""message":"configuration""#), quiet.output)
        let verbose = try cli(["status", "--json"], ["LOG_LEVEL": "debug", "LOG_FORMAT": "json"])
        XCTAssertEqual(verbose.status, 0, verbose.output)
        let line = try XCTUnwrap(verbose.output.split(separator: "\n").first { $0.contains(#""message":"configuration""#) },
                                 verbose.output)
        let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        XCTAssertEqual(object["level"] as? String, "debug")
        let settings = try XCTUnwrap(object["configuration"] as? [String: [String: String]])
        XCTAssertEqual(settings["LOG_LEVEL"], ["value": "debug", "source": "environment"])
    }
}
