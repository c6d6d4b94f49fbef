import Foundation
import Synchronization
import WebhookHTTP
import XCTest

/// The status decides: once a complete status line and headers have arrived, a body that is slow,
/// stalls or never ends must not turn the answer into a transport error (a 2xx would otherwise be
/// retried and dead-lettered although the receiver took it).
final class HTTPClientBodyTests: XCTestCase {
    /// What the worker's WEBHOOK_TIMEOUT would be: the dribble outlasts it.
    private let requestTimeout = 3.0

    func testA2xxWhoseBodyDribblesLongerThanTheTimeoutIsReportedWithItsStatus() throws {
        let server = try DribblingServer(head: "HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\n",
                                         interval: 0.1, dribbleFor: requestTimeout + 3)
        defer { server.stop() }
        let (response, elapsed) = try send(to: server.url)
        XCTAssertEqual(response.status, 200, "\(response.outcome)")
        XCTAssertNil(response.failure)
        XCTAssertNotEqual(response.failure, .cancelled)
        XCTAssertLessThan(elapsed, requestTimeout, "the body is read for a short time only")
    }

    func testA2xxWhoseBodyNeverComesIsReportedWithItsStatus() throws {
        let server = try DribblingServer(head: "HTTP/1.1 202 Accepted\r\nContent-Length: 500\r\n\r\n",
                                         interval: nil, dribbleFor: requestTimeout + 3)
        defer { server.stop() }
        let (response, elapsed) = try send(to: server.url)
        XCTAssertEqual(response.status, 202, "\(response.outcome)")
        XCTAssertNil(response.failure)
        XCTAssertLessThan(elapsed, requestTimeout)
    }

    func testAnErrorStatusWithAStalledBodyKeepsItsStatus() throws {
        let server = try DribblingServer(
            head: "HTTP/1.1 503 Service Unavailable\r\nRetry-After: 7\r\nContent-Length: 100\r\n\r\nbusy",
            interval: nil, dribbleFor: requestTimeout + 3)
        defer { server.stop() }
        let (response, _) = try send(to: server.url)
        XCTAssertEqual(response.status, 503, "\(response.outcome)")
        XCTAssertEqual(response.retryAfter, 7)
        XCTAssertEqual(String(decoding: response.body, as: UTF8.self), "busy")
    }

    func testHeadersThatNeverEndAreStillATimeout() throws {
        let server = try DribblingServer(head: "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n",
                                         interval: nil, dribbleFor: requestTimeout + 3)
        defer { server.stop() }
        let (response, elapsed) = try send(to: server.url)
        XCTAssertEqual(response.status, 0, "a half-received head is not an answer")
        XCTAssertNotNil(response.failure)
        XCTAssertGreaterThanOrEqual(elapsed, requestTimeout - 0.1)
    }

    /// Sends one POST and waits for its completion; returns it and the seconds it took.
    private func send(to url: String) throws -> (HTTPResponse, Double) {
        let done = Mutex<HTTPResponse?>(nil)
        let arrived = DispatchSemaphore(value: 0)
        let client = try HTTPClient(maxConcurrent: 4, maxPerLane: 4) { batch in
            done.withLock { $0 = batch.first }
            arrived.signal()
        }
        defer { client.shutdown() }
        let started = Date()
        client.submit([HTTPRequest(token: 1, url: url, headers: ["Content-Type: application/json"],
                                   body: Array(#"{"action":"user_created"}"#.utf8), lane: 0,
                                   timeout: requestTimeout)])
        guard arrived.wait(timeout: .now() + requestTimeout + 10) == .success,
              let response = done.withLock({ $0 }) else {
            XCTFail("no completion")
            throw CancellationError()
        }
        return (response, Date().timeIntervalSince(started))
    }
}
