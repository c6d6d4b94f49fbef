import Foundation
import TestSupport
import XCTest

/// Endpoints behind a fleet-wide rate limit: waits are measured, a backlog costs Redis a few
/// commands per event, a Marzban-mode batch is one request, and endpoints that share a
/// destination share its limit.
final class EndpointRateTests: WorkerTestCase {
    /// Calls of every command Redis ran (INFO commandstats counts the commands scripts call),
    /// without the INFO calls themselves.
    private func commandsProcessed() throws -> Int {
        var total = 0
        for line in try redisCLI(["INFO", "commandstats"]).split(whereSeparator: \.isNewline)
        where line.hasPrefix("cmdstat_") && !line.hasPrefix("cmdstat_info:") {
            let calls = line.split(separator: ",").first?.split(separator: "=").last
            total += try XCTUnwrap(calls.flatMap { Int($0) }, "unexpected INFO line: \(line)")
        }
        return total
    }

    /// The busiest window of `length` seconds over `times`.
    private func busiest(_ times: [Double], window length: Double) -> Int {
        let sorted = times.sorted()
        var most = 0
        for (index, start) in sorted.enumerated() {
            most = max(most, sorted[index...].prefix { $0 < start + length }.count)
        }
        return most
    }

    func testWaitsBehindTheRateLimitAreMeasuredSoNoEventDiesEarly() async throws {
        let sink = try await receiver()
        let file = try endpointsFile("""
            endpoints:
              - name: limited
                url: \(sink.url)
                rate: 20/s
            """)
        let worker = try startWorker(["WEBHOOK_ENDPOINTS_FILE": file, "WEBHOOK_BREAKER_MAX_HOLD": "60"])
        try push(300)
        // 300 at 20/s: about 15 s. Every event waits less than 60 s, so none may die (when each
        // postponement counted a second or more, most did).
        try await waitFor("300 events delivered or dead", timeout: 45, { sink.count + (try self.llen("dead")) },
                          until: { $0 >= 300 })
        let dead = try redis.cli.lines(["LRANGE", "\(prefix):dead", "0", "2"])
        XCTAssertEqual(try llen("dead"), 0, "dead letters: \(dead)")
        XCTAssertEqual(Set(try usernames(sink.requests)).count, 300)
        XCTAssertLessThanOrEqual(busiest(sink.requests.map(\.arrival), window: 1), 22)
        await stop(worker)
    }

    func testABacklogBehindARateLimitCostsAtMostFiveRedisCommandsPerEvent() async throws {
        let sink = try await receiver()
        let file = try endpointsFile("""
            endpoints:
              - name: limited
                url: \(sink.url)
                rate: 100/s
            """)
        let worker = try startWorker(["WEBHOOK_ENDPOINTS_FILE": file])
        try await waitUntilRegistered()
        let before = try commandsProcessed()
        let events = 600
        try push(events)
        _ = try await sink.waitForRequests(count: events, timeout: 60)
        try await waitFor("everything settled", { try self.processingTotal() + self.zcard("delayed") + self.llen("queue") },
                          until: { $0 == 0 })
        let perEvent = Double(try commandsProcessed() - before) / Double(events)
        XCTAssertLessThanOrEqual(perEvent, 5, "Redis commands per delivered event")
        XCTAssertEqual(Set(try usernames(sink.requests)).count, events)
        // Measured on arrival, 10 ms apart: a dispatcher running late may send up to two
        // intervals' worth together (`Pacer`), and loopback jitter on a loaded machine (the
        // suite runs three tests at once) moves a few more: 10 % of slack. Twice the rate would
        // show about 200.
        XCTAssertLessThanOrEqual(busiest(sink.requests.map(\.arrival), window: 1), 110)
        XCTAssertEqual(try llen("dead"), 0)
        await stop(worker)
    }

    /// A rate limits requests; in Marzban mode one request carries a batch of events.
    func testAMarzbanModeEndpointSendsBatchesAtItsRate() async throws {
        let sink = try await receiver()
        let file = try endpointsFile("""
            endpoints:
              - name: panel
                url: \(sink.url)
                compat: marzban
                rate: 2/s
            """)
        let worker = try startWorker(["WEBHOOK_ENDPOINTS_FILE": file])
        try await waitUntilRegistered()
        try push(200)
        var users: Set<String> = []
        try await waitFor("200 events in batches", timeout: 20, {
            users = []
            for request in sink.requests {
                let batch = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(request.body)) as? [[String: Any]])
                for event in batch { users.insert(try XCTUnwrap(event["username"] as? String)) }
            }
            return users.count
        }, until: { $0 >= 200 })
        XCTAssertEqual(users.count, 200)
        XCTAssertLessThanOrEqual(busiest(sink.requests.map(\.arrival), window: 1), 3, "2 requests a second")
        XCTAssertEqual(try llen("dead"), 0)
        await stop(worker)
    }

    /// Discord's and Telegram's limits are per webhook or chat: two endpoints pointing at the
    /// same one share its rate.
    func testTwoEndpointsToOneDiscordWebhookShareItsRate() async throws {
        let discord = try await receiver(.status(204))
        let url = discord.baseURL + "/api/webhooks/1/token"
        let file = try endpointsFile("""
            endpoints:
              - name: alerts
                kind: discord
                url: \(url)
                rate: 10/s
              - name: audit
                kind: discord
                url: \(url)
                rate: 10/s
            """)
        let worker = try startWorker(["WEBHOOK_ENDPOINTS_FILE": file])
        try await waitUntilRegistered()
        try push(30)
        let requests = try await discord.waitForRequests(count: 60, timeout: 30)
        XCTAssertLessThanOrEqual(busiest(requests.map(\.arrival), window: 1), 11, "one webhook, one rate of 10/s")
        XCTAssertEqual(try llen("dead"), 0)
        await stop(worker)
    }
}
