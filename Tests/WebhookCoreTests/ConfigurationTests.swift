import XCTest
@testable import WebhookCore

final class ConfigurationTests: XCTestCase {
    private func error(_ variables: [String: String]) -> ConfigurationError? {
        do throws(ConfigurationError) { _ = try Configuration.load(variables); return nil } catch { return error }
    }

    func testDefaults() throws {
        let config = try Configuration.load([:])
        XCTAssertEqual(config.endpoints.addresses, [])
        XCTAssertNil(config.endpoints.secret)
        XCTAssertEqual(config.worker.pollInterval, 30)
        XCTAssertEqual(config.endpoints.retry, RetryPolicy(retries: 3, delay: 180, schedule: nil, retryAfterCap: 3600))
        XCTAssertNil(config.endpoints.discordURL)
        XCTAssertEqual(config.redis.url, RedisURL(host: "127.0.0.1", port: 6379, database: 0))
        XCTAssertEqual(config.redis.keyPrefix, "webhooks")
        XCTAssertEqual(config.http.timeout, 10)
        XCTAssertEqual(config.http.concurrency, 64)
        XCTAssertEqual(config.http.endpointConcurrency, 64)
        XCTAssertEqual(config.worker.maxInflightEvents, 512)
        XCTAssertEqual(config.worker.batchSize, 256)
        XCTAssertEqual(config.endpoints.compat, .standard)
        XCTAssertEqual(config.worker.maxPayloadBytes, 1_048_576)
        XCTAssertNil(config.worker.metricsListen)
        XCTAssertEqual(config.worker.lease, 30)
        XCTAssertEqual(config.worker.shutdownGrace, 8)
        XCTAssertNil(config.worker.id)
        XCTAssertEqual(config.bridge.listen, HostPort(host: "0.0.0.0", port: 8080))
        XCTAssertNil(config.bridge.secret)
        XCTAssertEqual(config.logLevel, "info")
        XCTAssertTrue(config.warnings.contains { $0.contains("WEBHOOK_ADDRESS") }, "no endpoint should warn")
    }

    func testEveryVariable() throws {
        let config = try Configuration.load([
            "WEBHOOK_ADDRESS": " http://127.0.0.1:9000/ ,, https://example.com/hook?x=1 ",
            "WEBHOOK_SECRET": "something-very-very-secret",
            "JOB_SEND_NOTIFICATIONS_INTERVAL": "0.5",
            "NUMBER_OF_RECURRENT_NOTIFICATIONS": "5",
            "RECURRENT_NOTIFICATIONS_TIMEOUT": "0",
            "WEBHOOK_RETRY_AFTER_MAX": "60",
            "DISCORD_WEBHOOK_URL": "https://discord.com/api/webhooks/1/abc",
            "REDIS_URL": "redis://:pw@10.0.0.5:6380/2",
            "REDIS_KEY_PREFIX": "hooks",
            "WEBHOOK_TIMEOUT": "20",
            "WEBHOOK_CONCURRENCY": "100",
            "WEBHOOK_MAX_INFLIGHT": "1000",
            "WEBHOOK_BATCH_SIZE": "50",
            "WEBHOOK_COMPAT": "Marzban",
            "WEBHOOK_MAX_PAYLOAD_BYTES": "2048",
            "WEBHOOK_METRICS_LISTEN": "127.0.0.1:9100",
            "WEBHOOK_SHUTDOWN_GRACE": "2.5",
            "WEBHOOK_WORKER_ID": "node-1",
            "INGEST_LISTEN": ":8081",
            "INGEST_SECRET": "in-secret",
            "LOG_LEVEL": "DEBUG",
        ])
        XCTAssertEqual(config.endpoints.addresses, ["http://127.0.0.1:9000/", "https://example.com/hook?x=1"])
        XCTAssertEqual(config.endpoints.secret, "something-very-very-secret")
        XCTAssertEqual(config.worker.pollInterval, 0.5)
        XCTAssertEqual(config.endpoints.retry, RetryPolicy(retries: 5, delay: 0, schedule: nil, retryAfterCap: 60))
        XCTAssertEqual(config.endpoints.discordURL, "https://discord.com/api/webhooks/1/abc")
        XCTAssertEqual(config.redis.url, RedisURL(host: "10.0.0.5", port: 6380, password: "pw", database: 2))
        XCTAssertEqual(config.redis.keyPrefix, "hooks")
        XCTAssertEqual(config.http.timeout, 20)
        XCTAssertEqual(config.http.concurrency, 100)
        XCTAssertEqual(config.http.endpointConcurrency, 75, "three targets: 3/4 of the total")
        XCTAssertEqual(config.worker.maxInflightEvents, 1000)
        XCTAssertEqual(config.worker.batchSize, 50)
        XCTAssertEqual(config.endpoints.compat, .marzban)
        XCTAssertEqual(config.worker.maxPayloadBytes, 2048)
        XCTAssertEqual(config.worker.metricsListen, HostPort(host: "127.0.0.1", port: 9100))
        XCTAssertEqual(config.worker.lease, 60, "default lease is max(30, 3 x timeout)")
        XCTAssertEqual(config.worker.shutdownGrace, 2.5)
        XCTAssertEqual(config.worker.id, "node-1")
        XCTAssertEqual(config.bridge.listen, HostPort(host: "0.0.0.0", port: 8081))
        XCTAssertEqual(config.bridge.secret, "in-secret")
        XCTAssertEqual(config.logLevel, "debug")
        XCTAssertEqual(config.warnings, [])
    }

    func testScheduleSetsTheNumberOfRetries() throws {
        let config = try Configuration.load(["WEBHOOK_RETRY_SCHEDULE": "5s, 5m,30m,2h,1.5,250ms", "WEBHOOK_ENDPOINT_CONCURRENCY": "8",
                                             "WEBHOOK_LEASE": "45"])
        XCTAssertEqual(config.endpoints.retry.schedule, [5, 300, 1800, 7200, 1.5, 0.25])
        XCTAssertEqual(config.endpoints.retry.retries, 6)
        XCTAssertEqual(config.http.endpointConcurrency, 8)
        XCTAssertEqual(config.worker.lease, 45)
        let both = try Configuration.load(["WEBHOOK_RETRY_SCHEDULE": "1m", "NUMBER_OF_RECURRENT_NOTIFICATIONS": "3"])
        XCTAssertTrue(both.warnings.contains { $0.contains("WEBHOOK_RETRY_SCHEDULE") })
    }

    func testEmptyMeansUnset() throws {
        let config = try Configuration.load(["WEBHOOK_TIMEOUT": "", "WEBHOOK_SECRET": "", "REDIS_URL": " ", "WEBHOOK_ADDRESS": ""])
        XCTAssertEqual(config.http.timeout, 10)
        XCTAssertNil(config.endpoints.secret)
        XCTAssertEqual(config.redis.url, .default)
    }

    func testErrorsNameTheVariable() {
        let cases: [(String, String)] = [
            ("WEBHOOK_TIMEOUT", "abc"), ("WEBHOOK_TIMEOUT", "0"), ("WEBHOOK_TIMEOUT", "-1"), ("WEBHOOK_TIMEOUT", "nan"),
            ("JOB_SEND_NOTIFICATIONS_INTERVAL", "0"), ("NUMBER_OF_RECURRENT_NOTIFICATIONS", "-1"),
            ("NUMBER_OF_RECURRENT_NOTIFICATIONS", "2.5"), ("RECURRENT_NOTIFICATIONS_TIMEOUT", "soon"),
            ("WEBHOOK_RETRY_SCHEDULE", "5s,,5m"), ("WEBHOOK_RETRY_SCHEDULE", "5x"), ("WEBHOOK_RETRY_AFTER_MAX", "-5"),
            ("WEBHOOK_ADDRESS", "ftp://example.com/"), ("WEBHOOK_ADDRESS", "http://"), ("WEBHOOK_ADDRESS", "http://a b/"),
            ("WEBHOOK_ADDRESS", "example.com"), ("DISCORD_WEBHOOK_URL", "discord.com/api/webhooks/1"),
            ("REDIS_URL", "rediss://h:6379"), ("REDIS_URL", "redis://h:notaport"), ("REDIS_KEY_PREFIX", "a b"),
            ("WEBHOOK_CONCURRENCY", "0"), ("WEBHOOK_ENDPOINT_CONCURRENCY", "x"), ("WEBHOOK_MAX_INFLIGHT", "0"),
            ("WEBHOOK_BATCH_SIZE", "-3"), ("WEBHOOK_COMPAT", "legacy"), ("WEBHOOK_MAX_PAYLOAD_BYTES", "0"),
            ("WEBHOOK_METRICS_LISTEN", "9100"), ("WEBHOOK_LEASE", "10"), ("WEBHOOK_SHUTDOWN_GRACE", "-1"),
            ("WEBHOOK_LIVENESS_BOUND", "0"),
            ("WEBHOOK_WORKER_ID", "a b"), ("INGEST_LISTEN", "host:99999"), ("LOG_LEVEL", "loud"),
            ("INGEST_MAX_BODY_BYTES", "0"), ("INGEST_MAX_BUFFERED_BYTES", "lots"), ("INGEST_ALLOW_LOOP", "maybe"),
            ("INGEST_HEADER_TIMEOUT", "0"), ("INGEST_BODY_TIMEOUT", "x"), ("INGEST_IDLE_TIMEOUT", "-1"),
        ]
        for (variable, value) in cases {
            guard let error = error([variable: value]) else { XCTFail("\(variable)=\(value) accepted"); continue }
            XCTAssertEqual(error.variable, variable, "\(variable)=\(value): \(error)")
            XCTAssertTrue(error.description.hasPrefix("\(variable): "), error.description)
        }
        XCTAssertEqual(error(["WEBHOOK_TIMEOUT": "abc"])?.description,
                       "WEBHOOK_TIMEOUT: expected a positive number of seconds, got 'abc'")
        XCTAssertTrue(error(["REDIS_URL": "rediss://h"])!.message.contains("TLS"))
        XCTAssertEqual(error(["WEBHOOK_TIMEOUT": "30", "WEBHOOK_LEASE": "31"])?.variable, "WEBHOOK_LEASE")
        // The panel's largest POST must fit beside what strangers may hold (half the buffer).
        XCTAssertEqual(error(["INGEST_MAX_BODY_BYTES": "1000", "INGEST_MAX_BUFFERED_BYTES": "1999"])?.description,
                       "INGEST_MAX_BUFFERED_BYTES: must be at least 2 × INGEST_MAX_BODY_BYTES (2000), got '1999'")
        XCTAssertNil(error(["INGEST_MAX_BODY_BYTES": "1000", "INGEST_MAX_BUFFERED_BYTES": "2000"]))
    }

    /// Marzban mode sends WEBHOOK_SECRET itself as a header value: a line break (a trailing
    /// newline from a secret file, say) stops start-up naming the variable.
    func testAWebhookSecretWithALineBreakStopsStartUpNamingTheVariable() {
        XCTAssertEqual(error(["WEBHOOK_SECRET": "s3cret\n"])?.variable, "WEBHOOK_SECRET")
        XCTAssertEqual(error(["WEBHOOK_SECRET": "s3\rcret"])?.variable, "WEBHOOK_SECRET")
        XCTAssertNil(error(["WEBHOOK_SECRET": "s3 cret\twith a tab"]), "spaces and tabs are allowed")
    }

    func testSecretsNeverAppearInErrors() {
        let secret = "hunter2-very-secret"
        let cases: [[String: String]] = [
            ["REDIS_URL": "redis://user:\(secret)@host:bad/0"],
            ["REDIS_URL": "redis://:\(secret)@host/x"],
            ["REDIS_URL": "redis://:\(secret)@host:6379/0?tls=1"],
            ["WEBHOOK_ADDRESS": "ftp://user:\(secret)@example.com/"],
            ["WEBHOOK_ADDRESS": "http://user:\(secret)@exa mple.com/"],
            ["WEBHOOK_SECRET": secret, "WEBHOOK_TIMEOUT": "x"],
            ["WEBHOOK_SECRET": secret + "\n"],
        ]
        for variables in cases {
            guard let error = error(variables) else { XCTFail("accepted \(variables.keys)"); continue }
            XCTAssertFalse(error.description.contains(secret), error.variable)
        }
        let config = try? Configuration.load(["WEBHOOK_SECRET": "whsec_not base64!", "REDIS_URL": "redis://:\(secret)@h"])
        XCTAssertFalse(config?.warnings.joined().contains("not base64!") ?? true)
        XCTAssertFalse(config?.redis.url.description.contains(secret) ?? true)
    }

    func testWarnings() throws {
        let odd = try Configuration.load(["DISCORD_WEBHOOK_URL": "https://example.com/discordish"])
        XCTAssertTrue(odd.warnings.contains { $0.contains("DISCORD_WEBHOOK_URL") })
        XCTAssertEqual(try Configuration.load(["WEBHOOK_ADDRESS": "http://a/,http://a/"]).endpoints.addresses, ["http://a/"])
        let clamped = try Configuration.load(["WEBHOOK_CONCURRENCY": "4", "WEBHOOK_ENDPOINT_CONCURRENCY": "10"])
        XCTAssertEqual(clamped.http.endpointConcurrency, 4)
        XCTAssertEqual(try Configuration.load(["WEBHOOK_ADDRESS": "http://a/", "DISCORD_WEBHOOK_URL": "https://discord.com/api/webhooks/1/x",
                                               "WEBHOOK_CONCURRENCY": "1"]).http.endpointConcurrency, 1)
    }

    func testWarningsComeInTheOrderComponentsLoad() throws {
        let config = try Configuration.load([
            "WEBHOOK_ADDRESS": "http://a/,http://a/", "WEBHOOK_CONCURRENCY": "4", "WEBHOOK_ENDPOINT_CONCURRENCY": "10",
            "WEBHOOK_MAX_INFLIGHT": "8", "WEBHOOK_BATCH_SIZE": "9",
        ])
        XCTAssertEqual(config.warnings, [
            "WEBHOOK_ADDRESS: 'http://a/' is listed twice; delivering once",
            "WEBHOOK_ENDPOINT_CONCURRENCY=10 exceeds WEBHOOK_CONCURRENCY=4; using 4",
            "WEBHOOK_BATCH_SIZE=9 exceeds WEBHOOK_MAX_INFLIGHT=8; using 8",
            "neither WEBHOOK_ITEM_KEY nor WEBHOOK_SECRET is set: internal queue items are authenticated with a public key, so anyone who can write to Redis can forge retries (they still reach only configured endpoints)",
        ])
        XCTAssertEqual(config.worker.batchSize, 8)
        XCTAssertEqual(config.http.endpointConcurrency, 4)
    }

    func testMergedPrecedence() {
        let merged = Configuration.merged(
            environment: ["A": "env", "B": "env"],
            dotEnvText: "A=dotenv\nB=dotenv\nC = \"dotenv\"\n",
            overrides: ["B": "flag"])
        XCTAssertEqual(merged["A"], "env")
        XCTAssertEqual(merged["B"], "flag")
        XCTAssertEqual(merged["C"], "dotenv")
        XCTAssertEqual(Configuration.merged(environment: [:], dotEnvText: nil, overrides: [:]), [:])
    }

    func testWebhookOrderingPerUserOrdersTheImplicitWebhookEndpoints() throws {
        let config = try Configuration.load(["WEBHOOK_ADDRESS": "http://127.0.0.1:1/a,http://127.0.0.1:2/b",
                                             "DISCORD_WEBHOOK_URL": "https://discord.com/api/webhooks/1/x",
                                             "WEBHOOK_ORDERING": "per-user"])
        XCTAssertEqual(config.targets.map { $0.spec?.ordering }, [OrderingSpec(), OrderingSpec(), nil])
        XCTAssertEqual(try Configuration.load(["WEBHOOK_ADDRESS": "http://127.0.0.1:1/a"]).targets.map { $0.spec?.ordering }, [nil])
        XCTAssertEqual(error(["WEBHOOK_ORDERING": "global"])?.variable, "WEBHOOK_ORDERING")
    }
}
