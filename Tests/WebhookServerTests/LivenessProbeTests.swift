import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Logging
import ServiceLifecycle
import TestSupport
import WebhookCore
import WebhookServer
import XCTest

/// `/livez` of the metrics server in-process, against a real thread that stops (the worker's and
/// the bridge's probes as they run are `ProbeTests`).
final class LivenessProbeTests: XCTestCase {
    /// A registered loop on a real thread beats, then blocks: `/livez` turns 503 naming it once
    /// its bound passes, and 200 again when it resumes.
    func testLivezNamesAStalledLoopAndRecovers() async throws {
        let liveness = Liveness()
        liveness.register("stuck-loop", bound: 0.5)
        let gate = Gate()
        let stop = Gate()
        let thread = Thread {
            while !stop.isOpen {
                gate.waitUntilOpen()   // the "stall": a wait with no timeout
                liveness.beat("stuck-loop")
                Thread.sleep(forTimeInterval: 0.05)
            }
        }
        gate.open()
        thread.start()
        defer { stop.open(); gate.open() }

        var logger = Logger(label: "probe-test")
        logger.logLevel = .error
        let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
        let server = MetricsServer(
            listen: HostPort(host: "127.0.0.1", port: 0), registry: Telemetry.bootstrap(),
            isHealthy: { true }, liveness: liveness, logger: logger, onListening: { continuation.yield($0) })
        let group = ServiceGroup(services: [server], logger: logger)
        _ = Task { try await group.run() }
        defer { Task { await group.triggerGracefulShutdown() } }
        var iterator = ports.makeAsyncIterator()
        let bound = await iterator.next()
        let base = "http://127.0.0.1:\(try XCTUnwrap(bound))"

        try await Task.sleep(for: .seconds(1))
        let beating = try await HTTPCall.get(base + "/livez")
        XCTAssertEqual(beating.text, "ok: stuck-loop\n", "beating for twice its bound")
        let readyz = try await HTTPCall.get(base + "/readyz")
        XCTAssertEqual(readyz.status, 404, "no readiness source, no /readyz")

        gate.close()
        let stalled = try await HTTPCall.waitForStatus(503, at: base + "/livez").text
        XCTAssertTrue(stalled.hasPrefix("stalled: stuck-loop (no progress for "), stalled)
        gate.open()
        let recovered = try await HTTPCall.waitForStatus(200, at: base + "/livez").text
        XCTAssertEqual(recovered, "ok: stuck-loop\n")
    }
}


/// A gate a thread waits at while it is closed.
private final class Gate: @unchecked Sendable {
    private let condition = NSCondition()
    private var openFlag = false  // guarded by `condition`

    var isOpen: Bool { condition.lock(); defer { condition.unlock() }; return openFlag }

    func open() { condition.lock(); openFlag = true; condition.broadcast(); condition.unlock() }

    func close() { condition.lock(); openFlag = false; condition.unlock() }

    func waitUntilOpen() {
        condition.lock()
        while !openFlag { condition.wait() }
        condition.unlock()
    }
}
