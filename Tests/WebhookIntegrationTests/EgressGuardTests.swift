import Foundation
import TestSupport
import XCTest

/// The egress guard at connect time, end to end: a name that resolves to a refused address gets
/// no connection (the receiver there sees nothing) and its deliveries end as dead letters saying
/// why, while an endpoint marked `egress: private-ok` reaches its own loopback receiver.
final class EgressGuardTests: WorkerTestCase {
    func testPrivateModeRefusesANameThatResolvesToLoopbackUnlessTheEndpointIsPrivateOK() async throws {
        let guarded = try await receiver(), local = try await receiver()
        let file = """
        endpoints:
          - name: guarded
            url: http://localhost:\(guarded.port)/hook
          - name: local-bot
            url: http://localhost:\(local.port)/hook
            egress: private-ok
        """
        let worker = try WorkerProcess(["run"], environment: environment([
            "WEBHOOK_ENDPOINTS_FILE": "endpoints.yaml", "WEBHOOK_EGRESS": "private",
            "NUMBER_OF_RECURRENT_NOTIFICATIONS": "0",
        ]), files: ["endpoints.yaml": file])
        defer { worker.kill() }
        try push(3)
        _ = try await local.waitForRequests(count: 3, timeout: 30)
        let dead = try await waitFor("3 dead letters for the guarded endpoint", { try self.redis.cli.lines(["LRANGE", "\(self.prefix):dead", "0", "-1"]) },
                                     until: { $0.count == 3 })
        for letter in dead {
            XCTAssertTrue(letter.contains("egress guard") && letter.contains("WEBHOOK_EGRESS=private"), letter)
            XCTAssertTrue(letter.contains("guarded"), letter)
        }
        XCTAssertEqual(guarded.requests.count, 0, "no connection reached the refused address")
        XCTAssertEqual(local.requests.count, 3)
    }

    func testTheAllowListExemptsARangeForEveryEndpoint() async throws {
        let guarded = try await receiver()
        let worker = try startWorker(["WEBHOOK_ADDRESS": "http://localhost:\(guarded.port)/hook", "WEBHOOK_EGRESS": "private",
                                      "WEBHOOK_EGRESS_ALLOW": "127.0.0.0/8,::1/128"])
        try push(2)
        _ = try await guarded.waitForRequests(count: 2, timeout: 30)
        await stop(worker)
    }
}
