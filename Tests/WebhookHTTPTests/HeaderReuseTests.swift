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
        ]
        for (index, headers) in shapes.enumerated() {
            let line = "x-sent: \(index)"
            var hook: HTTPRequest.SendHook?
            if index % 2 == 0 {
                hook = { (extra: inout [String]) in extra.append(line) }
            }
            let body = Array("{\"n\":\(index)}".utf8)
            client.submit([HTTPRequest(token: UInt64(index), url: receiver.url, headers: headers, body: body,
                                       lane: 0, timeout: 10, onSend: hook)])
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
}
