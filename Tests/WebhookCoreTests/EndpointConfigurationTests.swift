import Foundation
import XCTest
@testable import WebhookCore

/// WEBHOOK_ENDPOINTS_FILE and the circuit breaker variables in `Configuration.load`.
final class EndpointConfigurationTests: XCTestCase {
    private func load(_ variables: [String: String], file: String? = nil) throws(ConfigurationError) -> Configuration {
        try Configuration.load(variables) { path in
            guard path == "endpoints.yaml", let file else { throw CocoaError(.fileNoSuchFile) }
            return file
        }
    }

    private func error(_ variables: [String: String], file: String? = nil) -> String? {
        do throws(ConfigurationError) { _ = try load(variables, file: file); return nil } catch { return error.description }
    }

    func testDefaultsWithoutAFile() throws {
        let config = try load(["WEBHOOK_ADDRESS": "http://127.0.0.1:9000/", "WEBHOOK_SECRET": "s",
                               "DISCORD_WEBHOOK_URL": "https://discord.com/api/webhooks/1/t"])
        XCTAssertNil(config.endpoints.file)
        XCTAssertEqual(config.endpoints.specs.map(\.name), ["127.0.0.1:9000", "discord"])
        XCTAssertEqual(config.endpoints.specs[0].secrets, ["s"])
        XCTAssertEqual(config.endpoints.specs[0].concurrency, config.http.endpointConcurrency)
        XCTAssertEqual(config.endpoints.breaker.failures, 20)
        XCTAssertEqual(config.endpoints.breaker.probeInterval, 30)
        XCTAssertEqual(config.endpoints.breaker.maxHold, 259_200)
    }

    func testFileEndpointsJoinTheImplicitOnes() throws {
        let config = try load([
            "WEBHOOK_ENDPOINTS_FILE": "endpoints.yaml", "WEBHOOK_ADDRESS": "http://127.0.0.1:9000/",
            "WEBHOOK_SECRET": "global", "WEBHOOK_COMPAT": "marzban", "WEBHOOK_TIMEOUT": "7", "WEBHOOK_CONCURRENCY": "40",
        ], file: """
            endpoints:
              - {name: billing, url: "https://billing.example/hook", compat: standard, concurrency: 100}
            """)
        XCTAssertEqual(config.endpoints.file, "endpoints.yaml")
        XCTAssertEqual(config.endpoints.specs.map(\.name), ["127.0.0.1:9000", "billing"])
        let implicit = config.endpoints.specs[0], billing = config.endpoints.specs[1]
        XCTAssertEqual(implicit.compat, .marzban)
        XCTAssertEqual(billing.compat, .standard)
        XCTAssertEqual(billing.secrets, ["global"])
        XCTAssertEqual(billing.timeout, 7)
        // Two endpoints in all: each may take 3/4 of the worker's slots, as with two addresses.
        XCTAssertEqual(config.http.endpointConcurrency, 30)
        XCTAssertEqual(implicit.concurrency, 30)
        XCTAssertEqual(billing.concurrency, 40, "clamped to WEBHOOK_CONCURRENCY")
        XCTAssertTrue(config.warnings.contains("endpoints.yaml: endpoint 'billing': field 'concurrency': 100 exceeds WEBHOOK_CONCURRENCY=40; using 40"),
                      "\(config.warnings)")
        XCTAssertFalse(config.warnings.contains { $0.hasPrefix("neither WEBHOOK_ADDRESS") })
    }

    func testAWrongFileStopsStartUpNamingFileEndpointAndField() {
        XCTAssertEqual(error(["WEBHOOK_ENDPOINTS_FILE": "endpoints.yaml"], file: """
            endpoints:
              - name: billing
                url: https://billing.example/hook
                rate: 20 per second
            """),
            "WEBHOOK_ENDPOINTS_FILE: endpoints.yaml: endpoint 'billing': field 'rate': expected N/s or N/m (N from 1 to 1000000) or 'unlimited', got '20 per second'")
        XCTAssertEqual(error(["WEBHOOK_ENDPOINTS_FILE": "missing.yaml"]).map { $0.hasPrefix("WEBHOOK_ENDPOINTS_FILE: missing.yaml: cannot be read") },
                       true)
        XCTAssertEqual(error(["WEBHOOK_ENDPOINTS_FILE": "endpoints.yaml"], file: "endpoints:\n  - {name: a, url: \"https://a/\", notify: [b]}"),
                       "WEBHOOK_ENDPOINTS_FILE: endpoints.yaml: endpoint 'a': field 'notify': no endpoint is named 'b'; known: a")
        XCTAssertEqual(error(["WEBHOOK_ENDPOINTS_FILE": "endpoints.yaml"], file: "endpoints:\n  - {name: a, url: \"https://a/\", timeout: 40}"),
                       "WEBHOOK_ENDPOINTS_FILE: endpoints.yaml: endpoint 'a': field 'timeout': 40.0 s must be below WEBHOOK_LEASE - 1 s (WEBHOOK_LEASE is 30.0 s: raise it or lower the timeout)")
        XCTAssertNil(error(["WEBHOOK_ENDPOINTS_FILE": "endpoints.yaml", "WEBHOOK_LEASE": "60"],
                           file: "endpoints:\n  - {name: a, url: \"https://a/\", timeout: 40}"))
    }

    func testBreakerVariables() throws {
        let config = try load(["WEBHOOK_BREAKER_FAILURES": "5", "WEBHOOK_BREAKER_PROBE": "500ms", "WEBHOOK_BREAKER_MAX_HOLD": "2h"])
        XCTAssertEqual(config.endpoints.breaker.failures, 5)
        XCTAssertEqual(config.endpoints.breaker.probeInterval, 0.5)
        XCTAssertEqual(config.endpoints.breaker.maxHold, 7200)
        XCTAssertEqual(error(["WEBHOOK_BREAKER_FAILURES": "0"]), "WEBHOOK_BREAKER_FAILURES: expected an integer from 1 to 1000000, got '0'")
        XCTAssertEqual(error(["WEBHOOK_BREAKER_PROBE": "soon"]), "WEBHOOK_BREAKER_PROBE: expected a positive number of seconds, got 'soon'")
        XCTAssertEqual(error(["WEBHOOK_BREAKER_MAX_HOLD": "0"]), "WEBHOOK_BREAKER_MAX_HOLD: expected a positive number of seconds, got '0'")
    }
}
