import Foundation
import Glibc
import Synchronization
import WebhookHTTP
import XCTest

/// Transport failures come as `HTTPFailure` values callers can match on, with the text kept for
/// logs. Real sockets on 127.0.0.1 only.
final class HTTPFailureTests: XCTestCase {
    func testARefusedConnectionIsConnectionRefused() throws {
        // A port that was free a moment ago and has no listener.
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        defer { close(fd) }  // bound, never listening: connects are refused
        let response = try send(to: "http://127.0.0.1:\(UInt16(bigEndian: address.sin_port))/hook", timeout: 5)
        XCTAssertEqual(response.failure, .connectionRefused)
        XCTAssertEqual(response.status, 0)
        guard case .failed(_, let detail) = response.outcome else { return XCTFail("answered: \(response.outcome)") }
        XCTAssertFalse(detail.isEmpty, "the text stays for logs")
    }

    func testNoCompleteHeadInTimeIsTimeout() throws {
        let server = try DribblingServer(head: "HTTP/1.1 200 OK\r\n", interval: nil, dribbleFor: 4)
        defer { server.stop() }
        let response = try send(to: server.url, timeout: 1)
        XCTAssertEqual(response.failure, .timeout)
        XCTAssertEqual(response.status, 0)
    }

    func testAnAnswerHasNoFailure() throws {
        let server = try DribblingServer(head: "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", interval: nil, dribbleFor: 0)
        defer { server.stop() }
        let response = try send(to: server.url, timeout: 5)
        XCTAssertEqual(response.status, 200)
        XCTAssertEqual(response.outcome, .answered(status: 200))
        XCTAssertFalse(response.bodyCut)
        XCTAssertEqual(response.body, Array("ok".utf8))
    }

    func testAMalformedURLIsReportedNotCrashed() throws {
        let response = try send(to: "http://[::1", timeout: 5)
        XCTAssertEqual(response.status, 0)
        XCTAssertNotNil(response.failure)
        guard case .failed(.other(let code), let detail) = response.outcome else {
            return XCTFail("not an other curl error: \(response.outcome)")
        }
        XCTAssertGreaterThan(code, 0)
        XCTAssertFalse(detail.isEmpty, "curl's text stays for logs")
    }

    private func send(to url: String, timeout: Double) throws -> HTTPResponse {
        let done = Mutex<HTTPResponse?>(nil)
        let arrived = DispatchSemaphore(value: 0)
        let client = try HTTPClient(maxConcurrent: 2, maxPerLane: 2) { batch in
            done.withLock { $0 = batch.first }
            arrived.signal()
        }
        defer { client.shutdown() }
        client.submit([HTTPRequest(token: 1, url: url, headers: [], body: Array("{}".utf8), lane: 0, timeout: timeout)])
        guard arrived.wait(timeout: .now() + timeout + 10) == .success, let response = done.withLock({ $0 }) else {
            XCTFail("no completion")
            throw CancellationError()
        }
        return response
    }
}
