import Foundation
import Logging
import TestSupport
import WebhookCore
import WebhookQueue
import WebhookWorker
import XCTest

/// The worker runtime's thin loops on the in-memory queue driver: no Redis, a real HTTP receiver.
final class MemoryQueueRuntimeTests: XCTestCase {
    private func runtime(_ store: MemoryDeliveryQueue.Store, _ variables: [String: String]) throws -> WorkerRuntime {
        let configuration = try Configuration.load(variables.merging(["JOB_SEND_NOTIFICATIONS_INTERVAL": "1"]) { a, _ in a })
        var logger = Logger(label: "memory-runtime-test")
        logger.logLevel = .warning
        return try WorkerRuntime(configuration: configuration, workerID: "mem", logger: logger,
                                 queues: { MemoryDeliveryQueue(store: store, workerID: $0) })
    }

    /// `count` user_created events, for users `user-0`, `user-1`, ...
    private static func events(_ count: Int) -> [[UInt8]] {
        (0..<count).map { Array(#"{"action":"user_created","username":"user-\#($0)"}"#.utf8) }
    }

    func testDeliversRetriesAndStopsCleanlyWithoutRedis() async throws {
        let receiver = try await HTTPReceiver.start(behaviour: .respond { request, _ in
            // The first attempt of user-1 fails: it must come back through the delayed set.
            request.text.contains(#""username":"user-1""#) && request.text.contains(#""tries":0"#) ? .status(500) : .status(200)
        })
        let store = MemoryDeliveryQueue.Store()
        store.push(Self.events(20))
        store.push([Array("not json".utf8)])
        let worker = try runtime(store, ["WEBHOOK_ADDRESS": receiver.url, "WEBHOOK_SECRET": "s",
                                         "RECURRENT_NOTIFICATIONS_TIMEOUT": "1"])
        try await Task.detached { try worker.start() }.value
        let requests = try await receiver.waitForRequests(count: 21, timeout: 30)
        let retried = requests.filter { $0.text.contains(#""username":"user-1""#) }
        XCTAssertEqual(retried.count, 2, "the failed attempt is retried once: \(requests.map(\.text))")
        XCTAssertEqual(Set(retried.compactMap { $0.header("webhook-id") }).count, 1, "same webhook-id on the retry")
        await Task.detached { worker.stop() }.value
        let after = store.snapshot
        XCTAssertEqual(after.processing, 0)
        XCTAssertEqual(after.queue.count, 0, after.queue.map { String(decoding: $0.prefix(90), as: UTF8.self) }.description)
        XCTAssertEqual(after.dead.count, 1, "the malformed item is a dead letter")
        XCTAssertTrue(String(decoding: after.dead[0], as: UTF8.self).contains("malformed event"))
        await receiver.stop()
    }

    /// Runs a worker on five queued events with `WEBHOOK_SHUTDOWN_GRACE=grace`, stops it once all
    /// five are on the wire to `receiver`, and returns the store as the stop left it.
    private func stopWithFiveOnTheWire(_ receiver: HTTPReceiver, grace: String) async throws
        -> (queue: [[UInt8]], delayed: Int, dead: [[UInt8]], processing: Int) {
        let store = MemoryDeliveryQueue.Store()
        store.push(Self.events(5))
        let worker = try runtime(store, ["WEBHOOK_ADDRESS": receiver.url, "WEBHOOK_SHUTDOWN_GRACE": grace])
        try await Task.detached { try worker.start() }.value
        _ = try await receiver.waitForRequests(count: 5, timeout: 30)
        await Task.detached { worker.stop() }.value
        return store.snapshot
    }

    func testStopHandsBackWhatIsOnTheWireWithTriesUnchanged() async throws {
        let receiver = try await HTTPReceiver.start(behaviour: .hang)
        let after = try await stopWithFiveOnTheWire(receiver, grace: "1")
        XCTAssertEqual(after.processing, 0)
        XCTAssertEqual(after.queue.count, 5, "handed back")
        XCTAssertTrue(after.queue.allSatisfy { $0.first == UInt8(ascii: "@") && String(decoding: $0, as: UTF8.self).contains(" 0 w") },
                      after.queue.map { String(decoding: $0.prefix(80), as: UTF8.self) }.description)
        await receiver.stop()
    }

    /// Within WEBHOOK_SHUTDOWN_GRACE a stop waits for what is on the wire and settles it
    /// (contrast: the hung receiver above, handed back after a grace of 1 s).
    func testStopWaitsWithinTheGraceForAnswersOnTheWire() async throws {
        let receiver = try await HTTPReceiver.start(behaviour: .respond { _, _ in ReceiverResponse(status: 200, delay: 1) })
        let after = try await stopWithFiveOnTheWire(receiver, grace: "10")
        XCTAssertEqual(after.processing, 0)
        XCTAssertEqual(after.queue.count, 0, "answered within the grace: settled, not handed back")
        XCTAssertEqual(after.delayed, 0)
        XCTAssertEqual(receiver.count, 5)
        await receiver.stop()
    }

    /// A worker reaped while alive (another worker found its lease expired) finds itself
    /// unregistered at its next heartbeat, joins again and delivers what the reaper requeued.
    func testAWorkerReapedWhileAliveJoinsAgainAndDeliversWhatWasRequeued() async throws {
        let receiver = try await HTTPReceiver.start(behaviour: .respond { _, _ in ReceiverResponse(status: 200, delay: 0.5) })
        let store = MemoryDeliveryQueue.Store()
        store.push(Self.events(5))
        // Heartbeats every lease / 3: 0.9 s.
        let worker = try runtime(store, ["WEBHOOK_ADDRESS": receiver.url, "WEBHOOK_TIMEOUT": "1", "WEBHOOK_LEASE": "2.7"])
        try await Task.detached { try worker.start() }.value
        _ = try await receiver.waitForRequests(count: 5, timeout: 30)
        let reaper = MemoryDeliveryQueue(store: store, workerID: "reaper")
        XCTAssertEqual(try reaper.reap(worker: "mem", leaseMillis: 0), 5, "its five items go back to the queue")
        let requests = try await receiver.waitForRequests(count: 10, timeout: 30)
        let drained = try await eventuallyAsync(timeout: 30) {
            let now = store.snapshot
            return now.queue.isEmpty && now.processing == 0
        }
        XCTAssertTrue(drained, "the requeued items were taken again and settled: \(store.snapshot)")
        await Task.detached { worker.stop() }.value
        let users = requests.map { request in (0..<5).first { request.text.contains(#""username":"user-\#($0)""#) } ?? -1 }
        XCTAssertEqual(Dictionary(grouping: users, by: { $0 }).mapValues(\.count), [0: 2, 1: 2, 2: 2, 3: 2, 4: 2],
                       "each event once before the reap and once after")
        XCTAssertEqual(store.snapshot.dead.count, 0)
        await receiver.stop()
    }

    /// The memory driver's runtime keeps an endpoint's rate limit (`MemoryEndpointLimits`): it
    /// used to run with the limits off, sending a backlog at once.
    func testAnEndpointsRateLimitHoldsOnTheMemoryDriver() async throws {
        let receiver = try await HTTPReceiver.start(behaviour: .respond { _, _ in .status(200) })
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("endpoints-\(UUID().uuidString).yaml")
        try """
            endpoints:
              - name: paced
                url: \(receiver.url)
                rate: 4/s
            """.write(to: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: file) }
        let store = MemoryDeliveryQueue.Store()
        store.push(Self.events(8))
        let worker = try runtime(store, ["WEBHOOK_ENDPOINTS_FILE": file.path, "WEBHOOK_SECRET": "s"])
        try await Task.detached { try worker.start() }.value
        let requests = try await receiver.waitForRequests(count: 8, timeout: 30)
        await Task.detached { worker.stop() }.value
        let arrivals = requests.map(\.arrival).sorted()
        // Slots 0.25 s apart: eight requests span 1.75 s (less a little for timer slack).
        XCTAssertGreaterThanOrEqual(arrivals[7] - arrivals[0], 1.5, "sent at once: the rate limit is off (\(arrivals))")
        // Five requests take four slots, a second (less slack for a late sender).
        for index in arrivals.indices.dropLast(4) {
            XCTAssertGreaterThanOrEqual(arrivals[index + 4] - arrivals[index], 0.8, "over the rate: \(arrivals)")
        }
        XCTAssertEqual(store.snapshot.dead.count, 0)
        await receiver.stop()
    }
}
