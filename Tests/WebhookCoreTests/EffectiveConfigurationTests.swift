import Foundation
import XCTest
@testable import WebhookCore

final class EffectiveConfigurationTests: XCTestCase {
    private func effective(dotEnv: [String: String] = [:], environment: [String: String] = [:],
                           flags: [String: String] = [:]) throws -> EffectiveConfiguration {
        let merged = Configuration.merged(environment: environment, dotEnvText: nil, overrides: flags)
            .merging(dotEnv) { current, _ in current }
        return EffectiveConfiguration(configuration: try Configuration.load(merged), dotEnv: dotEnv,
                                      environment: environment, flags: flags)
    }

    private func setting(_ name: String, in effective: EffectiveConfiguration) throws -> EffectiveConfiguration.Setting {
        try XCTUnwrap(effective.settings.first { $0.name == name }, "\(name) is not in the table")
    }

    func testSourcesFollowPrecedenceAndBlankMeansDefault() throws {
        let config = try effective(
            dotEnv: ["WEBHOOK_TIMEOUT": "7", "WEBHOOK_COMPAT": "marzban", "WEBHOOK_CONCURRENCY": "5", "REDIS_KEY_PREFIX": "dot"],
            environment: ["WEBHOOK_COMPAT": "standard", "WEBHOOK_CONCURRENCY": "6", "WEBHOOK_BATCH_SIZE": "  "],
            flags: ["WEBHOOK_CONCURRENCY": "8"])
        XCTAssertEqual(try setting("WEBHOOK_TIMEOUT", in: config), .init(name: "WEBHOOK_TIMEOUT", value: "7", source: .dotEnv))
        XCTAssertEqual(try setting("WEBHOOK_COMPAT", in: config), .init(name: "WEBHOOK_COMPAT", value: "standard", source: .environment))
        XCTAssertEqual(try setting("WEBHOOK_CONCURRENCY", in: config), .init(name: "WEBHOOK_CONCURRENCY", value: "8", source: .flag))
        XCTAssertEqual(try setting("REDIS_KEY_PREFIX", in: config).source, .dotEnv)
        XCTAssertEqual(try setting("WEBHOOK_BATCH_SIZE", in: config), .init(name: "WEBHOOK_BATCH_SIZE", value: "256", source: .default),
                       "a blank value is unset: the default applies")
        // Derived defaults show what applies, not a formula.
        XCTAssertEqual(try setting("WEBHOOK_LEASE", in: config), .init(name: "WEBHOOK_LEASE", value: "30", source: .default))
        XCTAssertEqual(try setting("WEBHOOK_ENDPOINT_CONCURRENCY", in: config).value, "8")
        XCTAssertEqual(try setting("LOG_FORMAT", in: config), .init(name: "LOG_FORMAT", value: "text", source: .default))
        XCTAssertEqual(ConfigurationSource.dotEnv.rawValue, ".env")
    }

    func testEveryKnownVariableAppearsOnceAndDefaultsLoadCleanly() throws {
        let config = try effective()
        XCTAssertEqual(config.settings.map(\.name), EffectiveConfiguration.known.map(\.name))
        XCTAssertEqual(Set(config.settings.map(\.name)).count, config.settings.count)
        XCTAssertTrue(config.settings.allSatisfy { $0.source == .default })
        XCTAssertEqual(try setting("REDIS_URL", in: config).value, "redis://127.0.0.1:6379/0")
        XCTAssertEqual(try setting("JOB_SEND_NOTIFICATIONS_INTERVAL", in: config).value, "30")
        XCTAssertEqual(try setting("WEBHOOK_SECRET", in: config).value, "")
        XCTAssertEqual(config.unknown.count, 0)
    }

    func testSecretsAreNeverShown() throws {
        let secrets = ["env-secret-1", "ingest-secret-2", "redis-pass-3", "basic-pass-4", "query-token-5", "discord-token-6"]
        let config = try effective(
            dotEnv: ["INGEST_SECRET": "ingest-secret-2",
                     "DISCORD_WEBHOOK_URL": "https://discord.com/api/webhooks/123456/discord-token-6"],
            environment: ["WEBHOOK_SECRET": "env-secret-1",
                          "WEBHOOK_ADDRESS": "https://bob:basic-pass-4@hooks.example/in?token=query-token-5&v=2"],
            flags: ["REDIS_URL": "redis://admin:redis-pass-3@10.0.0.5:6380/2"])
        let everything = config.settings.map { "\($0.name)=\($0.value)" }.joined(separator: "\n")
        for secret in secrets { XCTAssertFalse(everything.contains(secret), "\(secret) leaked:\n\(everything)") }
        XCTAssertEqual(try setting("WEBHOOK_SECRET", in: config), .init(name: "WEBHOOK_SECRET", value: "***", source: .environment))
        XCTAssertEqual(try setting("INGEST_SECRET", in: config), .init(name: "INGEST_SECRET", value: "***", source: .dotEnv))
        XCTAssertEqual(try setting("REDIS_URL", in: config).value, "redis://admin:***@10.0.0.5:6380/2")
        XCTAssertEqual(try setting("WEBHOOK_ADDRESS", in: config).value, "https://***@hooks.example/in?token=***&v=***")
        XCTAssertEqual(try setting("DISCORD_WEBHOOK_URL", in: config).value, "https://discord.com/api/webhooks/123456/***")
    }

    func testUnknownNamesAreReportedWithoutValues() throws {
        let config = try effective(
            dotEnv: ["WEBHOOK_ADRESS": "http://typo.example/secret-path"],
            environment: ["WEBHOOK_TIMOUT": "5", "HOME": "/root", "PATH": "/bin", "REDIS_PASSWORD": "x"],
            flags: ["WEBHOK_SECRET": "oops"])
        XCTAssertEqual(config.unknown.map(\.name), ["REDIS_PASSWORD", "WEBHOK_SECRET", "WEBHOOK_ADRESS", "WEBHOOK_TIMOUT"])
        XCTAssertEqual(config.unknown.map(\.source), [.environment, .flag, .dotEnv, .environment])
    }

    /// Whoever adds a variable to the README's table must give it a row in the table of known
    /// variables, or the start-up log would not show it.
    func testEveryVariableOfTheReadmeTableIsKnown() throws {
        let readme = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("README.md")
        let text = try String(contentsOf: readme, encoding: .utf8)
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        let header = try XCTUnwrap(lines.firstIndex { $0.hasPrefix("| variable | default | meaning |") })
        var documented: [String] = []
        for line in lines[(header + 2)...] {
            guard line.hasPrefix("| `") else { break }
            let name = line.dropFirst(3).prefix { $0 != "`" }
            documented.append(String(name))
        }
        XCTAssertGreaterThan(documented.count, 20)
        let known = Set(EffectiveConfiguration.known.map(\.name))
        XCTAssertEqual(documented.filter { !known.contains($0) }, [], "documented but not in EffectiveConfiguration.known")
        XCTAssertEqual(known.subtracting(documented).sorted(), [], "known but not documented in the README")
    }

    func testLogFormat() throws {
        XCTAssertEqual(try LogFormat.load([:]), .text)
        XCTAssertEqual(try LogFormat.load(["LOG_FORMAT": " "]), .text)
        XCTAssertEqual(try LogFormat.load(["LOG_FORMAT": "JSON"]), .json)
        XCTAssertEqual(try LogFormat.load(["LOG_FORMAT": "text"]), .text)
        do {
            _ = try LogFormat.load(["LOG_FORMAT": "xml"])
            XCTFail("xml accepted")
        } catch {
            XCTAssertEqual(error, ConfigurationError(variable: "LOG_FORMAT", message: "expected 'text' or 'json', got 'xml'"))
        }
    }

    func testRedaction() {
        let cases: [(String, String)] = [
            ("https://example.com/hook", "https://example.com/hook"),
            ("http://user:pw@example.com:8080/a/b", "http://***@example.com:8080/a/b"),
            ("https://example.com/hook?token=abc&x=1#frag", "https://example.com/hook?token=***&x=***#***"),
            ("https://example.com/?flag", "https://example.com/?***"),
            ("https://discord.com/api/webhooks/123/abcDEF", "https://discord.com/api/webhooks/123/***"),
            ("https://discord.com/api/v10/webhooks/123/abcDEF?wait=true", "https://discord.com/api/v10/webhooks/123/***?wait=***"),
            ("https://example.com/webhooks/123/visible", "https://example.com/webhooks/123/visible"),
            ("https://u:p@discordapp.com/api/webhooks/1/t", "https://***@discordapp.com/api/webhooks/1/***"),
            ("not a url", "not a url"),
        ]
        for (input, expected) in cases {
            XCTAssertEqual(ConfigurationReader.redacted(input), expected, input)
        }
    }
}
