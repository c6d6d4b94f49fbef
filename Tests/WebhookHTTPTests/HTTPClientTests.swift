import Foundation
import Glibc
import Synchronization
import TestSupport
import WebhookHTTP
import XCTest

/// HTTPClient (libcurl multi) against real HTTP servers on 127.0.0.1.
final class HTTPClientTests: XCTestCase {
    func testPostReachesTheReceiverWithExactBodyAndHeaders() async throws {
        try await withReceiver(.respond { _, _ in .status(200, body: "thanks") }) { receiver in
            let (client, log) = try makeClient()
            defer { client.shutdown() }
            let body: [UInt8] = Array(#"{"action":"user_created","username":"ü"}"#.utf8) + [0x00, 0xFF, 0x0A]
            let headers = ["Content-Type: application/json", "x-webhook-secret: abc123", "webhook-id: msg_1"]
            client.submit([HTTPClientTests.request(7, receiver.url, body: body, headers: headers)])

            let response = try await log.wait(count: 1).first!
            XCTAssertEqual(response.token, 7)
            XCTAssertEqual(response.status, 200)
            XCTAssertNil(response.failure)
            XCTAssertNotEqual(response.failure, .cancelled)
            XCTAssertEqual(String(decoding: response.body, as: UTF8.self), "thanks")
            XCTAssertGreaterThan(response.duration, 0)
            // The request comes back with its answer, to be freed by the thread that built it.
            XCTAssertEqual(response.request?.token, 7)
            XCTAssertEqual(response.request?.body, body)

            let seen = try await receiver.waitForRequests(count: 1, timeout: 10)[0]
            XCTAssertEqual(seen.method, "POST")
            XCTAssertEqual(seen.path, "/hook")
            XCTAssertEqual(seen.body, body)
            XCTAssertEqual(seen.header("content-type"), "application/json")
            XCTAssertEqual(seen.header("x-webhook-secret"), "abc123")
            XCTAssertEqual(seen.header("webhook-id"), "msg_1")
            XCTAssertEqual(seen.header("content-length"), String(body.count))
            XCTAssertNil(seen.header("expect"), "100-continue must be off")
            XCTAssertTrue(seen.header("user-agent")?.hasPrefix("webhook-worker/") ?? false)
        }
    }

    func testALargeBodyIsSentWholeButNotHeldUntilTheAnswer() async throws {
        try await withReceiver(.status(200)) { receiver in
            let (client, log) = try makeClient()
            defer { client.shutdown() }
            let large = [UInt8](repeating: UInt8(ascii: "a"), count: 64 * 1024)
            client.submit([HTTPClientTests.request(1, receiver.url, body: large)])
            let response = try await log.wait(count: 1).first!
            XCTAssertEqual(response.status, 200)
            XCTAssertEqual(response.request?.token, 1)
            XCTAssertEqual(response.request?.body, [], "a 64 KiB body must not be held until the answer")
            let seen = try await receiver.waitForRequests(count: 1, timeout: 10)[0]
            XCTAssertEqual(seen.body, large)
        }
    }

    func testSequentialRequestsReuseTheConnection() async throws {
        try await withReceiver(.status(204)) { receiver in
            let (client, log) = try makeClient()
            defer { client.shutdown() }
            for token in 0..<200 {
                client.submit([HTTPClientTests.request(UInt64(token), receiver.url)])
                let done = try await log.wait(count: token + 1)
                XCTAssertEqual(done.last?.status, 204)
            }
            XCTAssertEqual(receiver.count, 200)
            XCTAssertLessThanOrEqual(client.connectionsOpened, 2, "keep-alive: one connection should serve all")
            XCTAssertGreaterThanOrEqual(client.connectionsOpened, 1)
        }
    }

    /// A submitter gets back, empty, an array the curl thread emptied, and fills it next round
    /// (a round's array is kilobytes): what it submitted still arrives whole and once.
    func testASubmitterGetsBackAnEmptiedArrayAndEveryRequestStillArrivesOnce() async throws {
        try await withReceiver(.status(204)) { receiver in
            let (client, log) = try makeClient()
            defer { client.shutdown() }
            var requests = (0..<100).map { HTTPClientTests.request(UInt64($0), receiver.url) }
            client.submit(moving: &requests)
            XCTAssertTrue(requests.isEmpty)
            // Handed over with the completions, after the curl thread emptied it.
            _ = try await log.wait(count: 100)
            var next = [HTTPClientTests.request(100, receiver.url)]
            client.submit(moving: &next)
            XCTAssertTrue(next.isEmpty, "what comes back holds no request")
            XCTAssertGreaterThanOrEqual(next.capacity, 100, "the first round's array, emptied")
            next.append(HTTPClientTests.request(101, receiver.url))
            client.submit(moving: &next)
            let done = try await log.wait(count: 102)
            XCTAssertEqual(done.map(\.token).sorted(), (0..<102).map(UInt64.init))
            XCTAssertEqual(receiver.count, 102)
        }
    }

    func testTimeoutIsEnforced() async throws {
        try await withReceiver(.hang) { receiver in
            let (client, log) = try makeClient()
            defer { client.shutdown() }
            let started = Date()
            client.submit([HTTPClientTests.request(1, receiver.url, timeout: 1)])
            let response = try await log.wait(count: 1, timeout: 20).first!
            let elapsed = Date().timeIntervalSince(started)
            XCTAssertEqual(response.status, 0)
            XCTAssertNotEqual(response.failure, .cancelled)
            XCTAssertTrue("\(response.outcome)".contains("Timeout"), "\(response.outcome)")
            XCTAssertGreaterThanOrEqual(elapsed, 0.9)
            XCTAssertLessThan(elapsed, 5, "a 1 s timeout took \(elapsed) s")
        }
    }

    func testAHungLaneHoldsOnlyItsCapAndOtherLanesKeepFlowing() async throws {
        try await withReceiver(.hang) { hung in
            try await withReceiver(.status(200)) { healthy in
                let (client, log) = try makeClient(maxConcurrent: 8, maxPerLane: 4)
                defer { client.shutdown() }
                client.submit((0..<20).map { HTTPClientTests.request(UInt64($0), hung.url, lane: 0, timeout: 600) })
                client.submit((1000..<1500).map { HTTPClientTests.request(UInt64($0), healthy.url, lane: 1) })

                let done = try await log.wait(count: 500, timeout: 60)
                XCTAssertEqual(Set(done.map(\.token)), Set(1000..<1500))
                XCTAssertTrue(done.allSatisfy { $0.status == 200 })
                _ = try await hung.waitForRequests(count: 4, timeout: 10)
                try await Task.sleep(nanoseconds: 200_000_000)
                XCTAssertEqual(hung.count, 4, "lane 0 must hold exactly maxPerLane requests")
                XCTAssertEqual(client.inFlight, 20)

                client.cancelAll()
                let all = try await log.wait(count: 520, timeout: 20)
                let cancelled = all.dropFirst(500)
                XCTAssertEqual(Set(cancelled.map(\.token)), Set(0..<20))
                XCTAssertTrue(cancelled.allSatisfy { $0.failure == .cancelled && $0.status == 0 })
                XCTAssertEqual(client.inFlight, 0)
            }
        }
    }

    /// While requests wait for a slot, answers are held back to be handed over together, but
    /// never longer than a millisecond: a lone answer arrives although nothing else finishes
    /// (the hung lane keeps requests waiting, so the loop sleeps in its 1 s poll unless the held
    /// answer bounds the sleep).
    func testAnAnswerHeldBackWhileRequestsWaitIsHandedOverWithinMilliseconds() async throws {
        try await withReceiver(.hang) { hung in
            try await withReceiver(.status(200)) { healthy in
                let (client, log) = try makeClient(maxConcurrent: 8, maxPerLane: 1)
                defer { client.shutdown() }
                client.submit((0..<3).map { HTTPClientTests.request(UInt64($0), hung.url, lane: 0, timeout: 600) })
                _ = try await hung.waitForRequests(count: 1, timeout: 10)
                for round in 0..<5 {
                    let token = UInt64(100 + round)
                    let submitted = Date()
                    client.submit([HTTPClientTests.request(token, healthy.url, lane: 1)])
                    let done = try await log.wait(count: round + 1, timeout: 10)
                    let elapsed = Date().timeIntervalSince(submitted)
                    XCTAssertEqual(done.last?.token, token)
                    XCTAssertEqual(done.last?.status, 200)
                    XCTAssertLessThan(elapsed, 0.5, "answer \(round) was held \(elapsed) s (the loop's poll is 1 s)")
                }
                XCTAssertEqual(hung.count, 1, "lane 0 keeps two requests waiting")
            }
        }
    }

    /// `withdrawWaiting(lanes:)` takes back only what waits in those lanes: what runs goes on,
    /// and other lanes are untouched.
    func testWithdrawingALaneTakesBackOnlyItsWaitingRequests() async throws {
        try await withReceiver(.hang) { hung in
            try await withReceiver(.hang) { other in
                let (client, log) = try makeClient(maxConcurrent: 8, maxPerLane: 2)
                defer { client.shutdown() }
                client.submit((0..<6).map { HTTPClientTests.request(UInt64($0), hung.url, lane: 0, timeout: 600) })
                client.submit((10..<13).map { HTTPClientTests.request(UInt64($0), other.url, lane: 1, timeout: 600) })
                _ = try await hung.waitForRequests(count: 2, timeout: 10)
                _ = try await other.waitForRequests(count: 2, timeout: 10)

                client.withdrawWaiting(lanes: [0])
                let withdrawn = try await log.wait(count: 4, timeout: 10)
                XCTAssertEqual(Set(withdrawn.map(\.token)), [2, 3, 4, 5])
                XCTAssertTrue(withdrawn.allSatisfy { $0.failure == .withdrawn && $0.status == 0 })
                try await Task.sleep(nanoseconds: 100_000_000)
                XCTAssertEqual(log.all.count, 4, "running requests and lane 1's waiting one go on")
                XCTAssertEqual(client.inFlight, 5)
            }
        }
    }

    func testRedirectIsReportedNotFollowed() async throws {
        try await withReceiver(.respond { _, _ in .redirect(to: "/elsewhere") }) { receiver in
            let (client, log) = try makeClient()
            defer { client.shutdown() }
            client.submit([HTTPClientTests.request(1, receiver.url)])
            let response = try await log.wait(count: 1).first!
            XCTAssertEqual(response.status, 301)
            XCTAssertNil(response.failure)
            try await Task.sleep(nanoseconds: 300_000_000)
            XCTAssertEqual(receiver.requests.map(\.path), ["/hook"])
        }
    }

    func testRetryAfterIsReported() async throws {
        // An HTTP date two minutes ahead: curl turns it into the seconds until then.
        let future = httpDate(Date().addingTimeInterval(120))
        let behaviour = ReceiverBehaviour.respond { request, _ in
            switch request.path {
            case "/seconds": return .retryAfter("7")
            case "/fraction": return .retryAfter("2.5", status: 503)
            case "/future-date": return .retryAfter(future, status: 503)
            case "/past-date": return .retryAfter("Wed, 21 Oct 2015 07:28:00 GMT")
            default: return .status(429, body: #"{"retry_after": 1.5}"#)
            }
        }
        try await withReceiver(behaviour) { receiver in
            let (client, log) = try makeClient()
            defer { client.shutdown() }
            let paths = ["/seconds", "/fraction", "/future-date", "/past-date", "/none"]
            client.submit(paths.enumerated().map { HTTPClientTests.request(UInt64($0.offset), receiver.baseURL + $0.element) })
            let byToken = Dictionary(uniqueKeysWithValues: try await log.wait(count: 5).map { ($0.token, $0) })
            XCTAssertEqual(byToken[0]?.status, 429)
            XCTAssertEqual(byToken[0]?.retryAfter, 7)
            XCTAssertEqual(byToken[1]?.status, 503)
            XCTAssertEqual(byToken[1]?.retryAfter, 2.5)
            let fromDate = try XCTUnwrap(byToken[2]?.retryAfter, "an HTTP date is supported")
            XCTAssertGreaterThanOrEqual(fromDate, 60, "about 120 s ahead: \(fromDate)")
            XCTAssertLessThanOrEqual(fromDate, 121, "about 120 s ahead: \(fromDate)")
            XCTAssertNil(byToken[3]?.retryAfter, "a date in the past asks for no wait")
            XCTAssertNil(byToken[4]?.retryAfter)
            XCTAssertEqual(byToken[4].map { String(decoding: $0.body, as: UTF8.self) }, #"{"retry_after": 1.5}"#)
        }
    }

    func testResponseBodyIsCappedAt64KiB() async throws {
        let big = [UInt8](repeating: UInt8(ascii: "x"), count: 200_000)
        try await withReceiver(.respond { _, _ in ReceiverResponse(status: 500, body: big) }) { receiver in
            let (client, log) = try makeClient()
            defer { client.shutdown() }
            client.submit([HTTPClientTests.request(1, receiver.url), HTTPClientTests.request(2, receiver.url)])
            let responses = try await log.wait(count: 2)
            XCTAssertEqual(responses.map(\.status), [500, 500])
            XCTAssertEqual(responses.map(\.body.count), [65536, 65536])
            XCTAssertTrue(responses.allSatisfy { $0.failure == nil })
        }
    }

    func testConnectionRefusedIsATransportError() async throws {
        // A bound socket that does not listen: connecting is refused, and no one else gets the port.
        let (fd, port) = try boundButNotListening()
        defer { close(fd) }
        let (client, log) = try makeClient()
        defer { client.shutdown() }
        client.submit([HTTPClientTests.request(1, "http://127.0.0.1:\(port)/hook")])
        let response = try await log.wait(count: 1).first!
        XCTAssertEqual(response.status, 0)
        XCTAssertNotEqual(response.failure, .cancelled)
        XCTAssertNotNil(response.failure)
        XCTAssertTrue("\(response.outcome)".contains("connect"), "\(response.outcome)")
    }

    func testCancelAllCompletesEverythingAsCancelledAndLaterRequestsRun() async throws {
        try await withReceiver(.hang) { receiver in
            let (client, log) = try makeClient(maxConcurrent: 4, maxPerLane: 4)
            defer { client.shutdown() }
            client.submit((0..<10).map { HTTPClientTests.request(UInt64($0), receiver.url, timeout: 600) })
            _ = try await receiver.waitForRequests(count: 4, timeout: 10)
            client.cancelAll()
            let done = try await log.wait(count: 10)
            XCTAssertEqual(Set(done.map(\.token)), Set(0..<10))
            XCTAssertTrue(done.allSatisfy { $0.failure == .cancelled })
            XCTAssertEqual(client.inFlight, 0)
            // The four that were running come back with their requests; waiting ones never ran.
            XCTAssertEqual(Set(done.compactMap(\.request?.token)).count, 4)
            XCTAssertTrue(done.allSatisfy { $0.request == nil || $0.request?.token == $0.token })

            receiver.setBehaviour(.status(200))
            client.submit([HTTPClientTests.request(99, receiver.url)])
            let after = try await log.wait(count: 11).last!
            XCTAssertEqual(after.token, 99)
            XCTAssertEqual(after.status, 200)
            XCTAssertNotEqual(after.failure, .cancelled)
        }
    }

    func testShutdownCancelsWhatIsLeftAndLaterSubmissionsAreCancelled() async throws {
        try await withReceiver(.hang) { receiver in
            let (client, log) = try makeClient()
            client.submit((0..<3).map { HTTPClientTests.request(UInt64($0), receiver.url, timeout: 600) })
            _ = try await receiver.waitForRequests(count: 3, timeout: 10)
            client.shutdown()
            XCTAssertEqual(log.all.count, 3)
            XCTAssertTrue(log.all.allSatisfy { $0.failure == .cancelled })
            client.submit([HTTPClientTests.request(9, receiver.url)])
            XCTAssertEqual(log.all.last?.token, 9)
            XCTAssertEqual(log.all.last?.failure, .cancelled)
            client.shutdown()  // idempotent
        }
    }

    func testThousandConcurrentSubmissionsCompleteExactlyOnce() async throws {
        try await withReceiver(.status(200)) { receiver in
            let (client, log) = try makeClient(maxConcurrent: 32, maxPerLane: 32)
            defer { client.shutdown() }
            let url = receiver.url
            // 10 threads submit 100 requests each, in batches of 10.
            DispatchQueue.concurrentPerform(iterations: 10) { thread in
                for batch in 0..<10 {
                    let first = thread * 100 + batch * 10
                    client.submit((first..<first + 10).map { HTTPClientTests.request(UInt64($0), url) })
                }
            }
            let done = try await log.wait(count: 1000, timeout: 120)
            try await Task.sleep(nanoseconds: 300_000_000)
            XCTAssertEqual(log.all.count, 1000, "no request completes twice")
            XCTAssertEqual(done.map(\.token).sorted(), (0..<1000).map(UInt64.init))
            XCTAssertTrue(done.allSatisfy { $0.status == 200 && $0.failure == nil })
            XCTAssertEqual(receiver.count, 1000)
            XCTAssertEqual(client.inFlight, 0)
            XCTAssertLessThanOrEqual(client.connectionsOpened, 64)
        }
    }
}
