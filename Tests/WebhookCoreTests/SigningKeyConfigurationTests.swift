import Foundation
import XCTest
@testable import WebhookCore

/// WEBHOOK_SIGNING_KEY and the endpoints file's `signing_key`: who is signed with what, and
/// start-up errors that name the variable (or file, endpoint and field) and never the key.
final class SigningKeyConfigurationTests: XCTestCase {
    private let newKey = AsymmetricSigningKey.generate()
    private let oldKey = AsymmetricSigningKey.generate()

    private func load(_ variables: [String: String], file: String? = nil) throws -> Configuration {
        try Configuration.load(variables) { path in
            guard path == "endpoints.yaml", let file else { throw CocoaError(.fileNoSuchFile) }
            return file
        }
    }

    private func error(_ variables: [String: String], file: String? = nil) -> ConfigurationError? {
        do { _ = try load(variables, file: file); return nil } catch { return error as? ConfigurationError }
    }

    func testTheVariableSignsImplicitAndFileEndpointsInStandardMode() throws {
        let config = try load([
            "WEBHOOK_ADDRESS": "http://127.0.0.1:9000/", "DISCORD_WEBHOOK_URL": "https://discord.com/api/webhooks/1/t",
            "WEBHOOK_SIGNING_KEY": "\(newKey.secretKeyText), \(oldKey.secretKeyText)", "WEBHOOK_ENDPOINTS_FILE": "endpoints.yaml",
        ], file: """
            endpoints:
              - {name: inherits, url: "https://a.example/hook"}
              - {name: own, url: "https://b.example/hook", signing_key: "\(oldKey.secretKeyText)"}
              - {name: rotated, url: "https://c.example/hook", signing_key: ["\(oldKey.secretKeyText)", "\(newKey.secretKeyText)"]}
              - {name: panel, url: "https://d.example/hook", compat: marzban}
              - {name: chat, kind: telegram, bot_token: "1:abc", chat_id: "5"}
            """)
        XCTAssertEqual(config.endpoints.signingKeys, [newKey, oldKey], "newest first, as written")
        let keys = Dictionary(uniqueKeysWithValues: config.endpoints.specs.map { ($0.name, $0.signingKeys) })
        XCTAssertEqual(keys["127.0.0.1:9000"], [newKey, oldKey])
        XCTAssertEqual(keys["inherits"], [newKey, oldKey])
        XCTAssertEqual(keys["own"], [oldKey])
        XCTAssertEqual(keys["rotated"], [oldKey, newKey])
        XCTAssertEqual(keys["panel"], [], "Marzban's wire has no webhook-signature")
        XCTAssertEqual(keys["discord"], [])
        XCTAssertEqual(keys["chat"], [])
    }

    func testABadVariableNamesItAndNeverTheKey() throws {
        let secret = newKey.secretKeyText
        for (value, expected) in [("whsk_abc*", "not base64"), (newKey.publicKeyText, "public key"),
                                  ("\(secret),whsk_AAAA", "key 2 of 2"), ("\(secret),", "key 2 of 2")] {
            let error = try XCTUnwrap(error(["WEBHOOK_SIGNING_KEY": value]), value)
            XCTAssertEqual(error.variable, "WEBHOOK_SIGNING_KEY")
            XCTAssertTrue(error.description.contains(expected), error.description)
            XCTAssertFalse(error.description.contains(String(secret.dropFirst(5))), "the key is never shown")
        }
    }

    func testABadFieldNamesFileEndpointAndField() throws {
        let cases: [(String, String)] = [
            (#"{name: billing, url: "https://a.example/hook", signing_key: "whsk_AAAA"}"#, "got 3"),
            (#"{name: billing, url: "https://a.example/hook", signing_key: []}"#, "empty"),
            (#"{name: billing, url: "https://a.example/hook", compat: marzban, signing_key: "\#(newKey.secretKeyText)"}"#, "marzban"),
            (#"{name: billing, kind: discord, url: "https://discord.com/api/webhooks/1/t", signing_key: "\#(newKey.secretKeyText)"}"#,
             "not used by discord"),
        ]
        for (endpoint, expected) in cases {
            let error = try XCTUnwrap(error(["WEBHOOK_ENDPOINTS_FILE": "endpoints.yaml"], file: "endpoints:\n  - \(endpoint)\n"),
                                      endpoint)
            XCTAssertEqual(error.variable, "WEBHOOK_ENDPOINTS_FILE")
            for part in ["endpoints.yaml", "'billing'", "signing_key", expected] {
                XCTAssertTrue(error.description.contains(part), "\(part) missing: \(error.description)")
            }
            XCTAssertFalse(error.description.contains(String(newKey.secretKeyText.dropFirst(5))), "the key is never shown")
        }
    }

    func testTheKeyIsASecretInTheStartUpLine() throws {
        let variables = ["WEBHOOK_SIGNING_KEY": newKey.secretKeyText]
        let effective = EffectiveConfiguration(configuration: try load(variables), dotEnv: [:], environment: variables, flags: [:])
        let setting = try XCTUnwrap(effective.settings.first { $0.name == "WEBHOOK_SIGNING_KEY" })
        XCTAssertEqual(setting.value, "***")
    }
}
