import Foundation
import TestSupport
import XCTest

/// A worker pointed at its own ingest bridge (the README's `.env` gives both the same secret,
/// and the bridge accepts the worker's signature) would re-enqueue every event it delivers,
/// forever. The bridge refuses such requests (508, `BridgeLoopTests`); where it was told to
/// accept them (`INGEST_ALLOW_LOOP=true`, or a bridge of an older release), the worker stops on
/// the bridge's first receipt, hands back what it holds, and exits non-zero naming the endpoint.
final class BridgeReceiptTests: WorkerTestCase {
    func testAWorkerDeliveringToItsOwnBridgeStopsAndSaysWhy() async throws {
        let secret = "one-secret-for-both"
        let (_, base) = try await startBridge(["INGEST_SECRET": secret, "INGEST_ALLOW_LOOP": "true"])
        let worker = try startWorker(["WEBHOOK_ADDRESS": "\(base)/events", "WEBHOOK_SECRET": secret,
                                      "WEBHOOK_SHUTDOWN_GRACE": "2"])
        try push(5)
        let status = await worker.exit(timeout: 20)
        XCTAssertNotNil(status, "the worker is still looping through its bridge; queue: \((try? llen("queue")) ?? -1)")
        XCTAssertNotEqual(status, 0, worker.log.suffix(3000).description)
        XCTAssertTrue(worker.log.contains("answered as this product's ingest bridge"), worker.log.suffix(3000).description)
        XCTAssertTrue(worker.log.contains("endpoint '127.0.0.1:"), "names the endpoint: \(worker.log.suffix(3000))")
        XCTAssertFalse(worker.log.contains(secret))

        // Nothing is lost and nothing amplifies: every event is in the queue (the bridge's copy
        // of what was delivered, or what was handed back), a few times at most: the copies of
        // what was in flight when the first receipt came back, not ~1,900 a second.
        XCTAssertEqual(try processingTotal(), 0)
        let items = try redis.cli.lines(["LRANGE", "\(prefix):queue", "0", "-1"])
        let names = items.compactMap { item -> String? in
            guard let range = item.range(of: #""username":"user-[0-9]+""#, options: .regularExpression) else { return nil }
            return String(item[range].dropFirst(12).dropLast())
        }
        XCTAssertEqual(Set(names), Set((0..<5).map { "user-\($0)" }), items.joined(separator: "\n"))
        XCTAssertLessThanOrEqual(items.count, 15, items.joined(separator: "\n"))
        try await Task.sleep(nanoseconds: 500_000_000)
        XCTAssertEqual(try llen("queue"), items.count, "nothing is feeding the queue any more")
    }
}
