import Foundation
import TestSupport
import WebhookHTTP
import XCTest

extension HTTPClientTests {
    /// A lull between bursts (one request at a time) keeps the warm connections: the idle cache
    /// is pinned to the pool size. With libcurl's default cache size (four per easy handle in
    /// the multi handle, and a finished transfer's handle is removed) the lull closes the
    /// connections the next burst needs, and their TLS sessions with them.
    func testALullBetweenBurstsKeepsTheWarmConnections() async throws {
        // Answers take 0.2 s, so every request of a burst overlaps the others: one connection each.
        try await withReceiver(.respond { _, _ in ReceiverResponse(status: 200, delay: 0.2) }) { receiver in
            let (client, log) = try makeClient(maxConcurrent: 16, maxPerLane: 16)
            defer { client.shutdown() }
            client.submit((0..<16).map { HTTPClientTests.request(UInt64($0), receiver.url) })
            _ = try await log.wait(count: 16)
            let afterBurst = client.connectionsOpened
            XCTAssertEqual(afterBurst, 16, "a burst of 16 overlapping requests opens 16 connections")
            for token in 16..<24 {
                client.submit([HTTPClientTests.request(UInt64(token), receiver.url)])
                _ = try await log.wait(count: token + 1)
            }
            client.submit((24..<40).map { HTTPClientTests.request(UInt64($0), receiver.url) })
            let done = try await log.wait(count: 40)
            XCTAssertTrue(done.allSatisfy { $0.status == 200 })
            XCTAssertEqual(client.connectionsOpened, afterBurst,
                           "the second burst found the first one's connections warm (none closed in the lull)")
        }
    }
}
