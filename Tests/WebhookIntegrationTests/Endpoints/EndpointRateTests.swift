import Foundation
import TestSupport
import XCTest

/// Endpoints behind a fleet-wide rate limit: waits are measured.
final class EndpointRateTests: WorkerTestCase {
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
                rate: 10/s
            """)
        let worker = try startWorker(["WEBHOOK_ENDPOINTS_FILE": file, "WEBHOOK_BREAKER_MAX_HOLD": "120"])
        try push(300)
        // 300 at 10/s: about 30 s. Every event waits less than 120 s, so none may die.
        try await waitFor("300 events delivered or dead", timeout: 60, { sink.count + (try self.llen("dead")) },
                          until: { $0 >= 300 })
        let dead = try redis.cli.lines(["LRANGE", "\(prefix):dead", "0", "2"])
        XCTAssertEqual(try llen("dead"), 0, "dead letters: \(dead)")
        XCTAssertEqual(Set(try usernames(sink.requests)).count, 300)
        XCTAssertLessThanOrEqual(busiest(sink.requests.map(\.arrival), window: 1), 11)
        await stop(worker)
    }
}
