import Foundation
import TestSupport
import XCTest

/// A rate limit that says "retry after 0" must not become a request storm.
final class RateLimitStormTests: WorkerTestCase {
    func testDiscord429WithZeroRetryAfterBacksOffInsteadOfStorming() async throws {
        let discord = try await receiver(.respond { _, _ in
            ReceiverResponse(status: 429, headers: [("Content-Type", "application/json")],
                             body: Array(#"{"message":"You are being rate limited.","retry_after":0,"global":false}"#.utf8))
        })
        let worker = try startWorker(["DISCORD_WEBHOOK_URL": discord.baseURL + "/api/webhooks/1/token"])
        try push(1)
        _ = try await discord.waitForRequests(count: 1, timeout: 30)
        try await Task.sleep(nanoseconds: 8_000_000_000)
        // Waits of 1, 2, 4 s after consecutive 429s: about four requests in 8 s, never hundreds.
        XCTAssertLessThanOrEqual(discord.count, 6, "\(discord.count) requests in 8 s")
        XCTAssertGreaterThanOrEqual(discord.count, 2, "still retried")
        let arrivals = discord.requests.map(\.arrival)
        for (earlier, later) in zip(arrivals, arrivals.dropFirst()) {
            XCTAssertGreaterThan(later - earlier, 0.9, "a floor under every wait: \(arrivals)")
        }
        XCTAssertEqual(try llen("dead"), 0, "waiting on a rate limit spends no try")
        await stop(worker)
    }
}
