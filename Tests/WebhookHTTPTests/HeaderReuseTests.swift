import Foundation
import Synchronization
import TestSupport
import WebhookHTTP
import XCTest

/// Each easy handle reuses its header list's nodes and buffers from request to request: a
/// request must carry exactly its own headers, whatever the previous one on the handle had
/// (more lines, fewer lines, longer or shorter values, one over the kept buffer size).
final class HeaderReuseTests: XCTestCase {
    func testEveryRequestOnAReusedHandleCarriesExactlyItsOwnHeaders() async throws {
        let receiver = try await HTTPReceiver.start(behaviour: .status(200))
        let done = Mutex(0)
        // One connection and one handle: every request runs on the same easy handle.
        let client = try HTTPClient(maxConcurrent: 1, maxPerLane: 1) { batch in
            done.withLock { $0 += batch.count }
        }
        let shapes: [[String]] = [
            ["x-a: 1", "x-b: two", "x-c: three", "x-d: four", "x-e: five", "x-f: six", "x-g: seven", "x-h: eight",
             "x-i: nine", "x-j: ten"],
            ["x-a: short"],
            [],
            ["x-long: " + String(repeating: "L", count: 3000), "x-b: after-long"],
            ["x-a: " + String(repeating: "m", count: 200)],
            ["x-b: b", "x-a: a"],
            ["x-a: 1", "x-b: 2", "x-c: 3", "x-d: 4", "x-e: 5", "x-f: 6", "x-g: 7", "x-h: 8", "x-i: 9", "x-j: 10", "x-k: 11"],
            ["x-long: " + String(repeating: "N", count: 2000)],
        ]
        for (index, headers) in shapes.enumerated() {
            let line = "x-sent: \(index)"
            var hook: HTTPRequest.SendHook?
            if index % 2 == 0 {
                hook = { _, extra in extra.append(line) }
            }
            let body = Array("{\"n\":\(index)}".utf8)
            // Every other shape sends its second half as the request's own lines (a
            // `HeaderBlock`), which follow the shared ones.
            let split = index % 4 < 2 ? headers.count : headers.count / 2
            var lines = HeaderBlock()
            for line in headers[split...] { lines.append(line) }
            client.submit([HTTPRequest(token: UInt64(index), url: receiver.url, headers: Array(headers[..<split]),
                                       lines: lines, body: body, lane: 0, timeout: 10, onSend: hook)])
        }
        let seen = try await receiver.waitForRequests(count: shapes.count, timeout: 20)
        client.shutdown()
        await receiver.stop()
        XCTAssertEqual(done.withLock { $0 }, shapes.count)
        XCTAssertLessThanOrEqual(client.connectionsOpened, 1)
        for request in seen {
            let index = Int(request.text.dropFirst(5).dropLast())!
            var expected = shapes[index].map { line -> (String, String) in
                let parts = line.split(separator: ":", maxSplits: 1)
                return (parts[0].lowercased(), parts[1].trimmingCharacters(in: .whitespaces))
            }
            if index % 2 == 0 { expected.append(("x-sent", "\(index)")) }
            let custom = request.headers.filter { $0.0.hasPrefix("x-") }
            XCTAssertEqual(custom.map(\.0), expected.map(\.0), "request \(index)")
            XCTAssertEqual(custom.map(\.1), expected.map(\.1), "request \(index)")
        }
    }

    /// The body buffer and its size stay set on the handle while they do not change: a body of
    /// another size, one that outgrows the buffer, one over the kept size (its buffer is given
    /// back) and an empty one must each arrive exactly as given.
    func testEveryRequestOnAReusedHandleCarriesExactlyItsOwnBody() async throws {
        let receiver = try await HTTPReceiver.start(behaviour: .status(200))
        let done = Mutex(0)
        let client = try HTTPClient(maxConcurrent: 1, maxPerLane: 1) { batch in
            done.withLock { $0 += batch.count }
        }
        let sizes = [10, 10, 3, 5000, 5000, 300 * 1024, 2, 0, 4096, 7]
        let bodies = sizes.enumerated().map { index, size in
            (0..<size).map { UInt8(ascii: "a") + UInt8((index + $0) % 26) }
        }
        for (index, body) in bodies.enumerated() {
            // Each request waits for the previous one: the order of arrival is the order sent.
            client.submit([HTTPRequest(token: UInt64(index), url: receiver.url, headers: [], body: body, lane: 0, timeout: 10)])
            _ = try await receiver.waitForRequests(count: index + 1, timeout: 10)
        }
        let seen = try await receiver.waitForRequests(count: bodies.count, timeout: 10)
        client.shutdown()
        await receiver.stop()
        XCTAssertEqual(done.withLock { $0 }, bodies.count)
        XCTAssertLessThanOrEqual(client.connectionsOpened, 1)
        XCTAssertEqual(seen.map(\.body.count), sizes)
        for (index, request) in seen.enumerated() {
            XCTAssertEqual(request.body, bodies[index], "request \(index)")
        }
    }
}
