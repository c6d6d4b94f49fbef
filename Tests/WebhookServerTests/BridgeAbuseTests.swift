import Foundation
import TestSupport
import WebhookServer
import XCTest

/// The bridge against clients that hold connections and buffers (issue 24, item 11): header,
/// body and idle timeouts close what stalls, and the bytes of bodies held at once are bounded,
/// with half for senders not yet authenticated, so strangers cannot fill the bridge's memory
/// or crowd the panel out.
final class BridgeAbuseTests: IngestServerTestCase {
    private let secret = IngestServerTests.secret
    /// Passes the header check (64 hex digits could be an HMAC); fails once the body is read.
    private let fakeHMAC = String(repeating: "ab", count: 32)

    private func start(_ variables: [String: String]) async throws -> IngestUnderTest {
        let started = try await IngestUnderTest.start(redis: redis, secret: secret, variables: variables)
        server = started
        return started
    }

    func testHalfSentHeadersAreClosedWithinTheHeaderTimeout() async throws {
        let server = try await start(["INGEST_HEADER_TIMEOUT": "1", "INGEST_IDLE_TIMEOUT": "30", "INGEST_BODY_TIMEOUT": "30"])
        let client = try RawClient(port: server.port)
        try client.send("POST /events HTTP/1.1\r\nHost: bridge\r\nContent-Type: appli")
        let closedAfter = try XCTUnwrap(client.secondsUntilClosed(timeout: 5), "still open after 5 s")
        XCTAssertGreaterThan(closedAfter, 0.8)
        XCTAssertLessThan(closedAfter, 3)
    }

    func testBodySentTooSlowlyIsClosedWithinTheBodyTimeout() async throws {
        let server = try await start(["INGEST_BODY_TIMEOUT": "1", "INGEST_IDLE_TIMEOUT": "30", "INGEST_HEADER_TIMEOUT": "30"])
        let client = try RawClient(port: server.port)
        try client.send("POST /events HTTP/1.1\r\nHost: bridge\r\nx-webhook-secret: \(secret)\r\nContent-Length: 100\r\n\r\n[")
        // A byte every 0.3 s keeps the connection busy but never finishes the body.
        let started = Date()
        var closedAfter: Double?
        while closedAfter == nil, Date().timeIntervalSince(started) < 5 {
            try? client.send(" ")
            if client.secondsUntilClosed(timeout: 0.3) != nil { closedAfter = Date().timeIntervalSince(started) }
        }
        let seconds = try XCTUnwrap(closedAfter, "still open after 5 s")
        XCTAssertGreaterThan(seconds, 0.8)
        XCTAssertLessThan(seconds, 3)
    }

    func testIdleConnectionsAreClosedAfterTheIdleTimeout() async throws {
        let server = try await start(["INGEST_IDLE_TIMEOUT": "1", "INGEST_HEADER_TIMEOUT": "30", "INGEST_BODY_TIMEOUT": "30"])
        // Connected, nothing sent.
        let silent = try RawClient(port: server.port)
        let silentClosed = try XCTUnwrap(silent.secondsUntilClosed(timeout: 5), "still open after 5 s")
        XCTAssertGreaterThan(silentClosed, 0.8)
        XCTAssertLessThan(silentClosed, 3)
        // Kept alive after an answer, then nothing.
        let client = try RawClient(port: server.port)
        try client.send("GET /healthz HTTP/1.1\r\nHost: bridge\r\n\r\n")
        let answer = try XCTUnwrap(client.read(timeout: 5))
        XCTAssertTrue(answer.hasPrefix("HTTP/1.1 200"), answer)
        let closed = try XCTUnwrap(client.secondsUntilClosed(timeout: 5), "still open after 5 s")
        XCTAssertGreaterThan(closed, 0.8)
        XCTAssertLessThan(closed, 3)
    }

    func testUnauthenticatedBodiesGetHalfTheBufferAndThePanelStillGetsThrough() async throws {
        // 256 KiB for bodies: 128 KiB for senders not yet authenticated.
        let server = try await start(["INGEST_MAX_BUFFERED_BYTES": "262144", "INGEST_MAX_BODY_BYTES": "131072"])
        func stranger() throws -> RawClient {
            let client = try RawClient(port: server.port)
            try client.send("POST /events HTTP/1.1\r\nHost: bridge\r\nx-webhook-secret: \(fakeHMAC)\r\n"
                            + "Content-Length: 60000\r\n\r\n[" + String(repeating: " ", count: 1000))
            return client
        }
        // Two fit in the strangers' half and are held, unanswered, while their bodies trickle.
        let held = [try stranger(), try stranger()]
        try await Task.sleep(nanoseconds: 300_000_000)
        for client in held { XCTAssertNil(client.read(timeout: 0.2), "a held body was answered") }
        // The third is refused at once, and told when to try again.
        let third = try stranger()
        let refusal = try XCTUnwrap(third.read(timeout: 5), "the third stranger was not answered")
        XCTAssertTrue(refusal.hasPrefix("HTTP/1.1 503"), refusal)
        XCTAssertTrue(refusal.lowercased().contains("retry-after: 1"), refusal)
        XCTAssertTrue(refusal.contains("INGEST_MAX_BUFFERED_BYTES"), refusal)
        // The rest of a refused body is not read: the connection closes a second later.
        XCTAssertNotNil(third.secondsUntilClosed(timeout: 3), "a refused body is still being read")

        // The panel (raw secret: authenticated by its headers) still gets through, with a body
        // larger than what is left of the strangers' half.
        let events = (0..<400).map { #"{"username":"user-\#($0)","action":"user_created","note":"\#(String(repeating: "n", count: 200))"}"# }
        let body = "[\(events.joined(separator: ","))]"
        XCTAssertGreaterThan(body.utf8.count, 131072 - 120_000)
        let (status, answer) = try await server.post(body: body, secret: secret)
        XCTAssertEqual(status, 202, answer)
        XCTAssertEqual(try redis.cli.int(["LLEN", "\(server.prefix):queue"]), 400)

        // Once the held bodies are gone, a stranger's body is read again (and refused for its
        // HMAC, which costs it nothing more).
        for client in held { client.close() }
        try await Task.sleep(nanoseconds: 300_000_000)
        let later = try RawClient(port: server.port)
        let small = #"[{"username":"u","action":"a"}]"#
        try later.send("POST /events HTTP/1.1\r\nHost: bridge\r\nx-webhook-secret: \(fakeHMAC)\r\nContent-Length: \(small.utf8.count)\r\n\r\n\(small)")
        let verdict = try XCTUnwrap(later.read(timeout: 5))
        XCTAssertTrue(verdict.hasPrefix("HTTP/1.1 401"), verdict)
    }
}

/// A plain TCP client on 127.0.0.1, for requests no HTTP library would send (half-sent
/// headers, bodies a byte at a time).
final class RawClient {
    private let descriptor: Int32

    init(port: Int) throws {
        descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
        guard connected else {
            Glibc.close(descriptor)
            throw RawClientError(description: "connect to 127.0.0.1:\(port): \(String(cString: strerror(errno)))")
        }
    }

    deinit { close() }

    private var isClosed = false

    func close() {
        guard !isClosed else { return }
        isClosed = true
        Glibc.close(descriptor)
    }

    func send(_ text: String) throws {
        let bytes = Array(text.utf8)
        var sent = 0
        while sent < bytes.count {
            let n = bytes[sent...].withUnsafeBytes { Glibc.send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard n > 0 else { throw RawClientError(description: "send: \(String(cString: strerror(errno)))") }
            sent += n
        }
    }

    /// What arrives within `timeout` (nil: nothing, or the peer closed without a byte).
    func read(timeout: Double) -> String? {
        guard wait(timeout) else { return nil }
        var buffer = [UInt8](repeating: 0, count: 65536)
        let n = Glibc.recv(descriptor, &buffer, buffer.count, 0)
        return n > 0 ? String(decoding: buffer[..<n], as: UTF8.self) : nil
    }

    /// The first bytes the peer sends within `timeout`, waiting without blocking the task's
    /// thread (an in-process server needs the cooperative threads).
    func answer(timeout: Double) async throws -> String {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if wait(0) { return read(timeout: 0) ?? "" }
            try await Task.sleep(nanoseconds: 20_000_000)
        }
        throw RawClientError(description: "no answer within \(timeout) s")
    }

    /// Seconds until the peer closed the connection (reading and dropping anything it sends
    /// first), or nil when it is still open after `timeout`.
    func secondsUntilClosed(timeout: Double) -> Double? {
        let start = Date()
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let left = timeout - Date().timeIntervalSince(start)
            guard left > 0, wait(left) else { return nil }
            let n = Glibc.recv(descriptor, &buffer, buffer.count, 0)
            if n <= 0 { return Date().timeIntervalSince(start) }
        }
    }

    /// Waits until the socket is readable (data or end of stream).
    private func wait(_ timeout: Double) -> Bool {
        var poller = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
        return poll(&poller, 1, Int32(max(0, timeout * 1000))) > 0
    }
}

struct RawClientError: Error, CustomStringConvertible {
    let description: String
}
