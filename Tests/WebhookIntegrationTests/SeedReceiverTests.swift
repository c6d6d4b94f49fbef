import Foundation
import TestSupport
import XCTest

/// The seed's Flask receiver (examples/seed_receiver.py, unmodified) accepts our deliveries.
final class SeedReceiverTests: WorkerTestCase {
    func testSeedFlaskReceiverAccepts50Of50() async throws {
        let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
        let script = repo.appendingPathComponent("examples/seed_receiver.py")
        let port = try freeTCPPort()
        let log = FileManager.default.temporaryDirectory.appendingPathComponent("flask-\(UUID().uuidString).log")
        FileManager.default.createFile(atPath: log.path, contents: nil)
        let flask = Process()
        flask.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        flask.arguments = ["python3", "-m", "flask", "--app", script.path, "run", "--host", "127.0.0.1", "--port", "\(port)"]
        let handle = try FileHandle(forWritingTo: log)
        flask.standardOutput = handle
        flask.standardError = handle
        try flask.run()
        // SIGKILL: the test process ignores SIGTERM (Hummingbird's receivers install graceful
        // shutdown handlers) and children inherit that.
        defer { kill(flask.processIdentifier, SIGKILL); flask.waitUntilExit() }
        let flaskLog = { (try? String(contentsOf: log, encoding: .utf8)) ?? "" }
        try await waitFor("flask listening", { flaskLog() }, until: { $0.contains("Running on") })

        // The sample hard-codes its secret; the worker is configured with the same one.
        let worker = try startWorker(["WEBHOOK_ADDRESS": "http://127.0.0.1:\(port)/webhook",
                                      "WEBHOOK_SECRET": "your-secret-key",
                                      "NUMBER_OF_RECURRENT_NOTIFICATIONS": "0"])
        try push(50, action: "user_updated")
        try await waitFor("50 accepted POSTs in the flask log", timeout: 90, {
            flaskLog().components(separatedBy: "\"POST /webhook HTTP/1.1\" 200").count - 1
        }, until: { $0 >= 50 })
        let text = flaskLog()
        XCTAssertEqual(text.components(separatedBy: "\"POST /webhook HTTP/1.1\" 200").count - 1, 50)
        XCTAssertFalse(text.contains("\" 403"), "the receiver rejected a signature")
        XCTAssertEqual(try llen("dead"), 0)
        await stop(worker)
    }
}
