import Foundation
import TestSupport
import XCTest

/// An https endpoint behind an HTTP proxy (a CONNECT tunnel), with a certificate from a private CA
/// the worker trusts through WEBHOOK_CA_FILE.
final class ProxiedTLSTests: WorkerTestCase {
    /// The proxy's `200 Connection established` is not the endpoint's answer: the second the body
    /// may take starts at the origin's status line, so an origin that answers after 3 s (inside
    /// WEBHOOK_TIMEOUT) has its delivery accepted once, not cut at 1 s and retried.
    func testAnHttpsEndpointBehindAConnectProxyAnsweringAfterThreeSecondsIsDeliveredOnce() async throws {
        let tls = try Self.selfSignedCertificate()
        let origin = try FixtureProcess("tls_origin.py", arguments: [tls.certificate, tls.key, "3"])
        defer { origin.stop() }
        let proxy = try FixtureProcess("forward_proxy.py")
        defer { proxy.stop() }
        let file = try endpointsFile("""
            endpoints:
              - name: private
                url: https://127.0.0.1:\(origin.port)/hook
                proxy: http://127.0.0.1:\(proxy.port)
            """)
        let worker = try startWorker(["WEBHOOK_ENDPOINTS_FILE": file, "WEBHOOK_CA_FILE": tls.certificate,
                                      "WEBHOOK_TIMEOUT": "10", "RECURRENT_NOTIFICATIONS_TIMEOUT": "1"])
        try push(1)
        // Before the fix every attempt was cut at 1 s: the origin never got to answer one.
        let settled = try await eventuallyAsync(timeout: 40) {
            guard origin.log.contains("answered /hook") else { return false }
            return try self.processingTotal() == 0 && self.llen("queue") == 0 && self.zcard("delayed") == 0
        }
        XCTAssertTrue(settled, "answered and settled:\n\(origin.log)\nworker:\n\(worker.log.suffix(3000))")
        let dead = try redisCLI(["LRANGE", "\(prefix):dead", "0", "-1"])
        XCTAssertEqual(try llen("dead"), 0, dead)
        XCTAssertEqual(Self.requests(origin.log), 1, "delivered once:\n\(origin.log)")
        XCTAssertFalse(origin.log.contains("cut /hook"), origin.log)
        XCTAssertTrue(proxy.log.contains("connect 127.0.0.1:\(origin.port)"), "through the proxy's tunnel:\n\(proxy.log)")
        await stop(worker)
    }

    /// The proxy URL's userinfo becomes the tunnel's Proxy-Authorization (the proxy refuses a
    /// CONNECT without it), and the password shows in no log line or command output.
    func testProxyCredentialsFromTheProxyURLOpenTheTunnelAndStayOutOfTheLogs() async throws {
        let tls = try Self.selfSignedCertificate()
        let origin = try FixtureProcess("tls_origin.py", arguments: [tls.certificate, tls.key, "0"])
        defer { origin.stop() }
        let password = "pr0xy-pass-7d1e"
        let proxy = try FixtureProcess("forward_proxy.py", arguments: ["hookproxy:\(password)"])
        defer { proxy.stop() }
        let file = try endpointsFile("""
            endpoints:
              - name: private
                url: https://127.0.0.1:\(origin.port)/hook
                proxy: http://hookproxy:\(password)@127.0.0.1:\(proxy.port)
            """)
        let environment = ["WEBHOOK_ENDPOINTS_FILE": file, "WEBHOOK_CA_FILE": tls.certificate,
                           "RECURRENT_NOTIFICATIONS_TIMEOUT": "1", "NUMBER_OF_RECURRENT_NOTIFICATIONS": "1"]
        let worker = try startWorker(environment)
        try push(1)
        try await waitFor("delivered through the authenticated tunnel and settled", timeout: 30, {
            [origin.log.contains("answered /hook") ? 1 : 0, try self.llen("dead"), try self.processingTotal(),
             try self.llen("queue"), try self.zcard("delayed")]
        }, until: { $0 == [1, 0, 0, 0, 0] || $0[1] > 0 })
        let dead = try redisCLI(["LRANGE", "\(prefix):dead", "0", "-1"])
        XCTAssertEqual(try llen("dead"), 0, dead)
        XCTAssertEqual(Self.requests(origin.log), 1, origin.log)
        XCTAssertTrue(proxy.log.contains("authorized 127.0.0.1:\(origin.port)"), proxy.log)
        XCTAssertFalse(proxy.log.contains("refused"), proxy.log)
        let listing = try await command(["endpoints"], environment)
        await stop(worker)
        for (what, text) in [("log", worker.log), ("stdout", worker.stdout), ("endpoints", listing.stdout + listing.stderr)] {
            XCTAssertFalse(text.contains(password), "the proxy password is in the \(what):\n\(text.suffix(3000))")
        }
        XCTAssertTrue(worker.log.contains("private"), "the log names the endpoint (checked a real log)")
    }

    /// Without the CA file the same origin is refused: verification stays on.
    func testWithoutTheCAFileThePrivateCertificateIsRefused() async throws {
        let tls = try Self.selfSignedCertificate()
        let origin = try FixtureProcess("tls_origin.py", arguments: [tls.certificate, tls.key, "0"])
        defer { origin.stop() }
        let worker = try startWorker(["WEBHOOK_ADDRESS": "https://127.0.0.1:\(origin.port)/hook",
                                      "NUMBER_OF_RECURRENT_NOTIFICATIONS": "0"])
        try push(1)
        let dead = try await eventuallyAsync(timeout: 30) { try self.llen("dead") == 1 }
        XCTAssertTrue(dead, "log:\n\(worker.log.suffix(3000))")
        XCTAssertEqual(Self.requests(origin.log), 0, "no request reached the origin over an unverified connection")
        XCTAssertTrue(try redisCLI(["LRANGE", "\(prefix):dead", "0", "-1"]).lowercased().contains("certificate"))
        await stop(worker)
    }

    /// Requests `tls_origin.py` logged.
    static func requests(_ log: String) -> Int {
        log.split(separator: "\n").filter { $0.hasPrefix("request ") }.count
    }

    /// A fresh self-signed certificate for 127.0.0.1 and localhost, made with `openssl`; it is its
    /// own CA. Returns the paths of the certificate and key (PEM).
    static func selfSignedCertificate() throws -> (certificate: String, key: String) {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("tls-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let certificate = directory.appendingPathComponent("cert.pem").path
        let key = directory.appendingPathComponent("key.pem").path
        let result = try Subprocess.run("openssl", [
            "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", key, "-out", certificate, "-days", "1", "-subj", "/CN=127.0.0.1",
            "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
        ])
        guard result.status == 0 else { throw OpenSSLFailed(output: result.stderr) }
        return (certificate, key)
    }

    struct OpenSSLFailed: Error { let output: String }
}
