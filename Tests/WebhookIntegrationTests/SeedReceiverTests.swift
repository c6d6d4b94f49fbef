import Foundation
import TestSupport
import XCTest

/// The seed's Flask receiver (examples/seed_receiver.py, unmodified) accepts our deliveries.
final class SeedReceiverTests: WorkerTestCase {
    func testSeedFlaskReceiverAccepts50Of50() async throws {
        let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
        let script = repo.appendingPathComponent("examples/seed_receiver.py")
        let log = FileManager.default.temporaryDirectory.appendingPathComponent("flask-\(UUID().uuidString).log")
        FileManager.default.createFile(atPath: log.path, contents: nil)
        let handle = try FileHandle(forWritingTo: log)
        let flaskLog = { (try? String(contentsOf: log, encoding: .utf8)) ?? "" }
        // A port found free can be taken before flask binds it; flask then exits, and is started
        // again on another port (three in all).
        var started: (flask: Process, port: Int)?
        for _ in 0..<3 where started == nil {
            let port = try freeTCPPort()
            let flask = Process()
            flask.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            flask.arguments = ["python3", "-m", "flask", "--app", script.path, "run", "--host", "127.0.0.1", "--port", "\(port)"]
            flask.standardOutput = handle
            flask.standardError = handle
            try flask.run()
            do {
                try await waitFor("flask listening or exited", { flaskLog() }, until: { $0.contains("Running on") || !flask.isRunning })
            } catch {
                kill(flask.processIdentifier, SIGKILL)
                throw error
            }
            if flask.isRunning { started = (flask, port) }
        }
        let (flask, port) = try XCTUnwrap(started, "flask did not start on any of three ports:\n\(flaskLog())")
        // SIGKILL: the test process ignores SIGTERM (Hummingbird's receivers install graceful
        // shutdown handlers) and children inherit that.
        defer { kill(flask.processIdentifier, SIGKILL); flask.waitUntilExit() }

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
