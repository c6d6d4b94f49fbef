import Foundation
import TestSupport
import XCTest

/// Standard Webhooks `v1a` end to end: keys from `keys generate`, deliveries from a real worker,
/// verified by a receiver holding only the public key, with PyPI `pynacl` written from the
/// spec's text (`Tests/Fixtures/verify_v1a.py`), not from this project's code.
final class AsymmetricSignatureTests: WorkerTestCase {
    /// One `keys generate`: the secret and the public key.
    private func generate() async throws -> (secret: String, public: String) {
        let result = try await command(["keys", "generate"])
        XCTAssertEqual(result.status, 0, result.stderr)
        let lines = result.stdout.split(separator: "\n").map(String.init)
        XCTAssertEqual(lines.count, 2, result.stdout)
        XCTAssertTrue(lines[0].hasPrefix("whsk_") && lines[1].hasPrefix("whpk_"), result.stdout)
        return (lines[0], lines[1])
    }

    /// What `verify_v1a.py` says of each request under `publicKey` ("ok" or "failed: ...").
    private func verify(_ requests: [RecordedRequest], publicKey: String, tamper: Bool = false) throws -> [String] {
        let list: [[String: String]] = requests.map { request in
            var body = request.body
            if tamper { body.append(UInt8(ascii: " ")) }
            return ["id": request.header("webhook-id") ?? "", "timestamp": request.header("webhook-timestamp") ?? "",
                    "signature": request.header("webhook-signature") ?? "", "body_base64": Data(body).base64EncodedString()]
        }
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("v1a-\(UUID().uuidString).json")
        try JSONSerialization.data(withJSONObject: list).write(to: path)
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Fixtures/verify_v1a.py").path
        let result = try Subprocess.run("python3", [script, publicKey, path.path])
        XCTAssertEqual(result.status, 0, result.stderr)
        return result.stdout.split(separator: "\n").map(String.init)
    }

    func testReceiversVerifyV1aWithOnlyThePublicKeyDuringARotation() async throws {
        let new = try await generate(), old = try await generate(), own = try await generate()
        let implicit = try await receiver(), named = try await receiver()
        let file = try endpointsFile("""
            endpoints:
              - name: own-key
                url: \(named.url)
                signing_key: \(own.secret)
            """)
        let env = ["WEBHOOK_ADDRESS": implicit.url, "WEBHOOK_SECRET": "hmac-secret", "WEBHOOK_ENDPOINTS_FILE": file,
                   "WEBHOOK_SIGNING_KEY": "\(new.secret),\(old.secret)"]
        let worker = try startWorker(env)
        try push(4)
        let rotated = try await implicit.waitForRequests(count: 4, timeout: 30)
        let single = try await named.waitForRequests(count: 4, timeout: 30)

        // Rotation: each request carries the HMAC and both v1a signatures, newest first.
        for request in rotated {
            let header = request.header("webhook-signature") ?? ""
            let versions = header.split(separator: " ").map { String($0.split(separator: ",").first ?? "") }
            XCTAssertEqual(versions, ["v1", "v1a", "v1a"], header)
        }
        XCTAssertEqual(try verify(rotated, publicKey: new.public), Array(repeating: "ok", count: 4), "the new key alone")
        XCTAssertEqual(try verify(rotated, publicKey: old.public), Array(repeating: "ok", count: 4), "the old key alone")
        XCTAssertTrue(try verify(rotated, publicKey: own.public).allSatisfy { $0.hasPrefix("failed") }, "a key it was not signed with")
        XCTAssertTrue(try verify(rotated, publicKey: new.public, tamper: true).allSatisfy { $0.hasPrefix("failed") },
                      "a changed body")
        // An endpoint's own signing_key replaces WEBHOOK_SIGNING_KEY.
        XCTAssertEqual(try verify(single, publicKey: own.public), Array(repeating: "ok", count: 4))
        XCTAssertTrue(try verify(single, publicKey: new.public).allSatisfy { $0.hasPrefix("failed") })

        // `keys public` prints the public keys of the configured ones, and never a secret.
        let global = try await command(["keys", "public"], env)
        XCTAssertEqual(global.status, 0, global.stderr)
        XCTAssertEqual(global.stdout.split(separator: "\n").map(String.init), [new.public, old.public])
        let endpoint = try await command(["keys", "public", "--endpoint", "own-key"], env)
        XCTAssertEqual(endpoint.stdout.split(separator: "\n").map(String.init), [own.public])
        for output in [global.stdout + global.stderr, endpoint.stdout + endpoint.stderr, worker.log] {
            for secret in [new.secret, old.secret, own.secret] {
                XCTAssertFalse(output.contains(String(secret.dropFirst(5))), "a secret key reached the output or log")
            }
        }
        await stop(worker)
    }

    func testABadKeyStopsStartUpNamingTheVariable() async throws {
        let worker = try startWorker(["WEBHOOK_ADDRESS": "http://127.0.0.1:1/", "WEBHOOK_SIGNING_KEY": "whpk_AAAA"])
        let status = await worker.exit(timeout: 20)
        XCTAssertNotNil(status)
        XCTAssertNotEqual(status, 0)
        XCTAssertTrue(worker.log.contains("WEBHOOK_SIGNING_KEY"), worker.log)
        let missing = try await command(["keys", "public"])
        XCTAssertNotEqual(missing.status, 0)
        XCTAssertTrue(missing.stderr.contains("WEBHOOK_SIGNING_KEY has no signing key"), missing.stderr)
    }
}
