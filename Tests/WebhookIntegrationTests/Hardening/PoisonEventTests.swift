import Foundation
import TestSupport
import XCTest

/// One event must never stop the fleet: numbers that used to trap are rendered, and an item
/// whose holders keep dying is set aside after WEBHOOK_MAX_CRASHES.
final class PoisonEventTests: WorkerTestCase {
    func testAHugeNumberWithDiscordOnIsDeliveredAndNoWorkerDies() async throws {
        let discord = try await receiver()
        let worker = try startWorker(["DISCORD_WEBHOOK_URL": discord.baseURL + "/api/webhooks/1/token"])
        let poison = #"{"action":"user_limited","username":"big","used_percent":1e40,"#
            + #""user":{"data_limit":1e40,"used_traffic":1.7976931348623157e308,"expire":1e40}}"#
        _ = try redisCLI(["LPUSH", "\(prefix):queue", poison])
        try push(3)
        let requests = try await discord.waitForRequests(count: 4, timeout: 30)
        XCTAssertTrue(worker.isRunning, "the worker survived:\n\(worker.log.suffix(2000))")
        let bodies = requests.map(\.text)
        XCTAssertTrue(bodies.contains { $0.contains("big") && $0.contains("e+") }, "\(bodies)")
        XCTAssertEqual(try llen("dead"), 0)
        await stop(worker)
    }

    func testAnItemWhoseHolderDiedThreeTimesBecomesADeadLetter() async throws {
        let hung = try await receiver(.hang)
        let env = ["WEBHOOK_ADDRESS": hung.url, "WEBHOOK_TIMEOUT": "2", "WEBHOOK_LEASE": "4"]
        try push(1)
        for round in 1...3 {
            let worker = try startWorker(env.merging(["WEBHOOK_WORKER_ID": "holder-\(round)"]) { $1 })
            // Killed while it holds the event (before its 2 s timeout could settle it).
            let held = try await eventuallyAsync(timeout: 30) { try self.llen("processing:holder-\(round)") == 1 }
            XCTAssertTrue(held, "round \(round): the event was taken\n\(worker.log.suffix(2000))")
            // Taken is not yet sent: wait for this holder's request to arrive, then kill it.
            let sent = try await eventuallyAsync(timeout: 30) { hung.count >= round }
            XCTAssertTrue(sent, "round \(round): the request arrived (seen: \(hung.count))")
            worker.kill()
        }
        let last = try startWorker(env.merging(["WEBHOOK_WORKER_ID": "survivor"]) { $1 })
        let dead = try await eventuallyAsync(timeout: 30) { try self.llen("dead") == 1 }
        XCTAssertTrue(dead, last.log.suffix(3000).description)
        let entry = try redisCLI(["LINDEX", "\(prefix):dead", "0"])
        XCTAssertTrue(entry.contains("died 3 times"), entry)
        XCTAssertTrue(entry.contains("user-0"), "the payload is kept: \(entry)")
        XCTAssertEqual(hung.count, 3, "one attempt per holder, none by the survivor")
        XCTAssertEqual(try processingTotal(), 0)
        XCTAssertTrue(last.isRunning)
    }
}
