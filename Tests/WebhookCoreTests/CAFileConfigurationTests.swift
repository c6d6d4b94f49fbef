import WebhookCore
import XCTest

/// WEBHOOK_CA_FILE: checked at start-up, so a wrong path is one clear error naming the variable,
/// not a TLS failure on every https delivery.
final class CAFileConfigurationTests: XCTestCase {
    private static let pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"

    func testUnsetMeansLibcurlsBundle() throws {
        XCTAssertNil(try Configuration.load([:]).http.caFile)
    }

    func testAReadablePEMFileIsKept() throws {
        let config = try Configuration.load(["WEBHOOK_CA_FILE": "/etc/private-ca.pem"]) { path in
            XCTAssertEqual(path, "/etc/private-ca.pem")
            return Self.pem
        }
        XCTAssertEqual(config.http.caFile, "/etc/private-ca.pem")
    }

    func testAMissingFileNamesTheVariableAndThePath() {
        XCTAssertThrowsError(try Configuration.load(["WEBHOOK_CA_FILE": "/nonexistent/ca.pem"])) { error in
            let error = error as! ConfigurationError
            XCTAssertEqual(error.variable, "WEBHOOK_CA_FILE")
            XCTAssertTrue(error.description.contains("/nonexistent/ca.pem"), error.description)
        }
    }

    func testAFileWithoutACertificateIsRefused() {
        XCTAssertThrowsError(try Configuration.load(["WEBHOOK_CA_FILE": "/etc/key.pem"]) { _ in
            "-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----\n"
        }) { error in
            let error = error as! ConfigurationError
            XCTAssertEqual(error.variable, "WEBHOOK_CA_FILE")
            XCTAssertTrue(error.description.contains("no PEM certificate"), error.description)
        }
    }
}
