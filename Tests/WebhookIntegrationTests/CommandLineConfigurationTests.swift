import Foundation
import TestSupport
import XCTest

/// Configuration sources, through the built binary: `.env` in the working directory,
/// `--env-file`, the environment, `--redis-url`, `--prefix` and `--set`, and their precedence
/// (.env < environment < flags). Effects are read back with redis-cli and a real receiver.
final class CommandLineConfigurationTests: WorkerTestCase {
    /// Nothing listens on port 9: a configuration that used this URL could not enqueue.
    private let deadRedis = "redis://127.0.0.1:9/0"

    /// Runs `webhook-worker enqueue` with exactly `environment` (no test defaults) and `files`
    /// in its working directory; asserts success.
    private func enqueue(_ flags: [String], environment: [String: String] = [:], files: [String: String] = [:],
                         file: StaticString = #filePath, line: UInt = #line) async throws {
        let result = try await WorkerProcess.complete(
            ["enqueue", "--action", "user_created", "--username", "cli"] + flags,
            environment: environment, files: files)
        XCTAssertEqual(result.status, 0, "stdout: \(result.stdout)\nstderr: \(result.stderr)", file: file, line: line)
    }

    private func depth(_ keyPrefix: String) throws -> Int {
        try redisInt(["LLEN", "\(keyPrefix):queue"])
    }

    func testDotEnvInTheWorkingDirectoryIsReadAndTheEnvironmentWins() async throws {
        try await enqueue([], files: [".env": "REDIS_URL=\(redisURLString)\nREDIS_KEY_PREFIX=\(prefix)-dotenv\n"])
        XCTAssertEqual(try depth("\(prefix)-dotenv"), 1, ".env supplied REDIS_URL and REDIS_KEY_PREFIX")

        try await enqueue([], environment: ["REDIS_KEY_PREFIX": "\(prefix)-env"],
                          files: [".env": "REDIS_URL=\(redisURLString)\nREDIS_KEY_PREFIX=\(prefix)-dotenv\n"])
        XCTAssertEqual(try depth("\(prefix)-env"), 1, "the environment beats .env")
        XCTAssertEqual(try depth("\(prefix)-dotenv"), 1)
    }

    func testEnvFileFlagReadsThatFileInsteadOfDotEnv() async throws {
        try await enqueue(["--env-file", "other.env"], files: [
            ".env": "REDIS_URL=\(deadRedis)\nREDIS_KEY_PREFIX=\(prefix)-dotenv\n",
            "other.env": "REDIS_URL=\(redisURLString)\nREDIS_KEY_PREFIX=\(prefix)-file\n",
        ])
        XCTAssertEqual(try depth("\(prefix)-file"), 1)
        XCTAssertEqual(try depth("\(prefix)-dotenv"), 0)
    }

    func testRedisURLPrefixAndSetFlagsBeatTheEnvironment() async throws {
        try await enqueue(["--redis-url", redisURLString],
                          environment: ["REDIS_URL": deadRedis, "REDIS_KEY_PREFIX": "\(prefix)-url"])
        XCTAssertEqual(try depth("\(prefix)-url"), 1, "--redis-url replaced REDIS_URL")

        try await enqueue(["--prefix", "\(prefix)-flag"],
                          environment: ["REDIS_URL": redisURLString, "REDIS_KEY_PREFIX": "\(prefix)-env"])
        XCTAssertEqual(try depth("\(prefix)-flag"), 1, "--prefix replaced REDIS_KEY_PREFIX")
        XCTAssertEqual(try depth("\(prefix)-env"), 0)

        try await enqueue(["--set", "REDIS_KEY_PREFIX=\(prefix)-set", "--set", "REDIS_URL=\(redisURLString)"],
                          environment: ["REDIS_URL": deadRedis, "REDIS_KEY_PREFIX": "\(prefix)-env"],
                          files: [".env": "REDIS_KEY_PREFIX=\(prefix)-dotenv\n"])
        XCTAssertEqual(try depth("\(prefix)-set"), 1, "--set beat both the environment and .env")
        XCTAssertEqual(try depth("\(prefix)-env"), 0)
        XCTAssertEqual(try depth("\(prefix)-dotenv"), 0)
    }

    func testMalformedOrInvalidSetStopsWithAMessage() async throws {
        let malformed = try await WorkerProcess.complete(["enqueue", "--action", "a", "--username", "u", "--set", "NOEQUALS"],
                                                         environment: ["REDIS_URL": redisURLString])
        XCTAssertNotEqual(malformed.status, 0)
        XCTAssertTrue(malformed.stderr.contains("--set"), malformed.stderr)
        let invalid = try await WorkerProcess.complete(["run", "--set", "WEBHOOK_ADDRESS=http://127.0.0.1:9/",
                                                        "--set", "WEBHOOK_TIMEOUT=abc"],
                                                       environment: ["REDIS_URL": redisURLString])
        XCTAssertNotEqual(invalid.status, 0)
        XCTAssertTrue(invalid.stderr.contains("WEBHOOK_TIMEOUT"), invalid.stderr)
    }

    func testRunTakesItsWholeConfigurationFromFlagsOverDotEnv() async throws {
        let endpoint = try await receiver()
        let keyPrefix = "\(prefix)-run"
        let worker = try WorkerProcess(
            ["run", "--redis-url", redisURLString, "--prefix", keyPrefix,
             "--set", "WEBHOOK_ADDRESS=\(endpoint.url)", "--set", "WEBHOOK_SECRET=flag-secret"],
            environment: [:],
            files: [".env": "REDIS_URL=\(deadRedis)\nWEBHOOK_SECRET=dotenv-secret\nJOB_SEND_NOTIFICATIONS_INTERVAL=1\n"])
        _ = try redis.cli.run(["LPUSH", "\(keyPrefix):queue", #"{"username":"flags","action":"user_created"}"#])
        let request = try await endpoint.waitForRequests(count: 1, timeout: 60)[0]
        XCTAssertEqual(try json(request)["username"] as? String, "flags")
        XCTAssertEqual(request.header("x-webhook-secret"), hexHMAC(request.body, secret: "flag-secret"),
                       "signed with the --set secret, not the .env one")
        worker.terminate()
        let status = await worker.exit(timeout: 20)
        XCTAssertEqual(status, 0, worker.log)
    }
}
