import Foundation
import Glibc
import Synchronization
import TestSupport
import WebhookCore
import WebhookHTTP
import XCTest

/// The egress guard's resolution and pin, through the HTTP client's resolver seam: names are
/// resolved by a DNS stand-in (`dns_rebind.py`, PyPI dnslib) that the test controls (this
/// libcurl has no c-ares, so CURLOPT_DNS_SERVERS cannot point curl itself at it). The guard is
/// WEBHOOK_EGRESS=private with 127.0.0.1 exempt: 127.0.0.1 stands in for a public address, and
/// 127.0.0.2 (loopback, refused) for the address a rebinding answer tries to reach.
final class EgressPinTests: XCTestCase {
    private let policy = EgressPolicy(mode: .private, allow: [CIDR("127.0.0.1/32")!])

    private var check: HTTPRequest.ConnectCheck {
        let policy = self.policy
        return { bytes in policy.refusal(bytes.count == 4 ? IPAddress(v4: bytes) : IPAddress(v6: bytes)) }
    }

    /// A client whose resolver asks the DNS stand-in on `dnsPort`, with no cache (a request
    /// after the shortest time an answer is kept resolves again, as a rebinding attacker with
    /// TTL 0 would want).
    private func client(dnsPort: Int) throws -> (HTTPClient, HTTPClientTests.CompletionLog) {
        let log = HTTPClientTests.CompletionLog()
        let resolver = HostResolver(cacheSeconds: 0) { host, timeout in
            DNSQuery.addresses(of: host, server: dnsPort, timeout: timeout)
                .mapError { HostResolver.LookupError($0.description) }
        }
        let client = try HTTPClient(maxConcurrent: 4, maxPerLane: 4, resolver: resolver) { log.add($0) }
        return (client, log)
    }

    private func request(_ token: UInt64, _ url: String, proxy: String? = nil) -> HTTPRequest {
        var request = HTTPRequest(token: token, url: url, headers: ["Content-Type: application/json"], body: Array("{}".utf8),
                                  lane: 0, timeout: 10)
        request.connectCheck = check
        request.proxy = proxy
        return request
    }

    func testARebindingNameReachesOnlyTheVettedAddressOrNothing() async throws {
        let receiver = try await HTTPReceiver.start()
        defer { Task { await receiver.stop() } }
        let trap = try Trap(host: "127.0.0.2", port: receiver.port)
        defer { trap.close() }
        let dns = try FixtureProcess("dns_rebind.py", arguments: ["127.0.0.1", "127.0.0.2"])
        defer { dns.stop() }
        let (client, log) = try client(dnsPort: dns.port)
        defer { client.shutdown() }

        client.submit([request(1, "http://rebind.test:\(receiver.port)/hook")])
        let first = try await log.wait(count: 1)[0]
        XCTAssertEqual(first.status, 200, "pinned to the vetted address: \(first.outcome)")
        try await Task.sleep(nanoseconds: 300_000_000)  // past the shortest time an answer is kept
        client.submit([request(2, "http://rebind.test:\(receiver.port)/hook")])
        let second = try await log.wait(count: 2)[1]
        guard case .refused(let why) = second.failure else { return XCTFail("not refused: \(second)") }
        XCTAssertTrue(why.contains("127.0.0.2"), why)
        XCTAssertEqual(receiver.count, 1)
        XCTAssertFalse(trap.connected, "no connection reached the rebound address")
        XCTAssertTrue(dns.log.contains("-> 127.0.0.2"), "the stand-in did answer the rebound address:\n\(dns.log)")
    }

    func testANameWithAnyRefusedAddressIsRefusedWhole() async throws {
        let receiver = try await HTTPReceiver.start()
        defer { Task { await receiver.stop() } }
        // One allowed address beside a metadata one; and a name resolving to metadata alone.
        let dns = try FixtureProcess("dns_rebind.py", arguments: ["127.0.0.1+169.254.169.254", "169.254.169.254"])
        defer { dns.stop() }
        let (client, log) = try client(dnsPort: dns.port)
        defer { client.shutdown() }
        client.submit([request(1, "http://mixed.test:\(receiver.port)/hook")])
        client.submit([request(2, "http://metadata.test:\(receiver.port)/hook")])
        let responses = try await log.wait(count: 2)
        for response in responses {
            guard case .refused(let why) = response.failure else { return XCTFail("not refused: \(response)") }
            XCTAssertTrue(why.contains("169.254.169.254") && why.contains("metadata"), why)
        }
        XCTAssertEqual(receiver.count, 0, "no connection was made to the allowed address either")
    }

    func testThroughSocks5ThePinIsWhatTheProxyIsAskedToReach() async throws {
        let receiver = try await HTTPReceiver.start()
        defer { Task { await receiver.stop() } }
        let proxy = try FixtureProcess("socks5_proxy.py")
        defer { proxy.stop() }
        let dns = try FixtureProcess("dns_rebind.py", arguments: ["127.0.0.1", "127.0.0.2"])
        defer { dns.stop() }
        let (client, log) = try client(dnsPort: dns.port)
        defer { client.shutdown() }
        let socks = "socks5://127.0.0.1:\(proxy.port)"

        client.submit([request(1, "http://pinned.test:\(receiver.port)/hook", proxy: socks)])
        let first = try await log.wait(count: 1)[0]
        XCTAssertEqual(first.status, 200, "\(first.outcome)\n\(proxy.log)")
        XCTAssertTrue(proxy.log.contains("connect 127.0.0.1:\(receiver.port)"), proxy.log)
        try await Task.sleep(nanoseconds: 300_000_000)  // past the shortest time an answer is kept
        client.submit([request(2, "http://pinned.test:\(receiver.port)/hook", proxy: socks)])
        let second = try await log.wait(count: 2)[1]
        guard case .refused = second.failure else { return XCTFail("not refused: \(second)") }
        XCTAssertFalse(proxy.log.contains("127.0.0.2"), "the proxy was never asked for the rebound address:\n\(proxy.log)")
        XCTAssertEqual(receiver.count, 1)
    }

    func testASlowLookupHoldsOnlyItsOwnRequests() async throws {
        let receiver = try await HTTPReceiver.start()
        defer { Task { await receiver.stop() } }
        let log = HTTPClientTests.CompletionLog()
        let resolver = HostResolver { host, _ in
            Thread.sleep(forTimeInterval: 2)  // a DNS server that takes 2 s for every name
            return .success([[127, 0, 0, 1]])
        }
        let client = try HTTPClient(maxConcurrent: 4, maxPerLane: 4, resolver: resolver) { log.add($0) }
        defer { client.shutdown() }
        let started = Date()
        client.submit([request(1, "http://slow.test:\(receiver.port)/hook")])
        client.submit([request(2, "http://127.0.0.1:\(receiver.port)/hook")])
        let first = try await log.wait(count: 1)[0]
        XCTAssertEqual(first.token, 2, "the request to a literal address did not wait for the other's lookup")
        XCTAssertLessThan(Date().timeIntervalSince(started), 1.5)
        let both = try await log.wait(count: 2)
        XCTAssertEqual(both.map(\.status), [200, 200], "\(both)")
    }

    /// A check with an identity judges a literal host once (not before every request); a new
    /// identity is judged anew and its refusal holds for each of its requests; a check without
    /// one is asked every time. Each new connection's address is still judged when it is made.
    func testALiteralHostIsJudgedOncePerCheckIdentity() async throws {
        let receiver = try await HTTPReceiver.start()
        defer { Task { await receiver.stop() } }
        let log = HTTPClientTests.CompletionLog()
        let client = try HTTPClient(maxConcurrent: 1, maxPerLane: 1) { log.add($0) }
        defer { client.shutdown() }
        let calls = Atomic<Int>(0)
        let allowing: HTTPRequest.ConnectCheck = { _ in
            calls.add(1, ordering: .relaxed)
            return nil
        }
        let refusing: HTTPRequest.ConnectCheck = { _ in
            calls.add(1, ordering: .relaxed)
            return "refused by the test's check"
        }
        var sent = 0
        func send(_ check: @escaping HTTPRequest.ConnectCheck, _ id: ConnectCheckID?) async throws -> HTTPResponse {
            sent += 1
            var request = HTTPRequest(token: UInt64(sent), url: "http://127.0.0.1:\(receiver.port)/hook",
                                      headers: [], body: Array("{}".utf8), lane: 0, timeout: 10)
            request.connectCheck = check
            request.connectCheckID = id
            client.submit([request])
            return try await log.wait(count: sent)[sent - 1]
        }

        let first = ConnectCheckID()
        for _ in 0..<3 {
            let response = try await send(allowing, first)
            XCTAssertEqual(response.status, 200, "\(response.outcome)")
        }
        XCTAssertEqual(calls.load(ordering: .relaxed), 1 + client.connectionsOpened,
                       "judged once for the three requests, plus once per connection made")
        let judgedSoFar = calls.load(ordering: .relaxed)

        let second = ConnectCheckID()
        for _ in 0..<2 {
            let response = try await send(refusing, second)
            guard case .refused(let why) = response.failure else { return XCTFail("not refused: \(response)") }
            XCTAssertEqual(why, "refused by the test's check")
        }
        XCTAssertEqual(calls.load(ordering: .relaxed), judgedSoFar + 1, "a new identity is judged once")

        let opened = client.connectionsOpened
        for _ in 0..<2 { _ = try await send(allowing, nil) }
        XCTAssertEqual(calls.load(ordering: .relaxed), judgedSoFar + 1 + 2 + (client.connectionsOpened - opened),
                       "without an identity every request is judged")
        XCTAssertEqual(receiver.count, 5)
    }
}

/// A listening socket that only records whether anything connected (non-blocking accept).
private final class Trap {
    private let fd: Int32

    init(host: String, port: Int) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = inet_addr(host)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(fd, 8) == 0 else {
            let code = errno
            Glibc.close(fd)
            throw POSIXError(POSIXErrorCode(rawValue: code) ?? .EINVAL)
        }
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
    }

    var connected: Bool {
        let client = accept(fd, nil, nil)
        if client >= 0 { Glibc.close(client) }
        return client >= 0
    }

    func close() { Glibc.close(fd) }
}

/// A minimal DNS client (A records over UDP) for the resolver seam in tests.
enum DNSQuery {
    struct Failure: Error, CustomStringConvertible { let description: String }

    static func addresses(of host: String, server port: Int, timeout: Double) -> Result<[[UInt8]], Failure> {
        let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        guard fd >= 0 else { return .failure(Failure(description: "socket failed")) }
        defer { close(fd) }
        var wait = timeval(tv_sec: Int(timeout), tv_usec: Int((timeout - timeout.rounded(.down)) * 1_000_000))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &wait, socklen_t(MemoryLayout<timeval>.size))
        let id = UInt16.random(in: 0...UInt16.max)
        var query: [UInt8] = [UInt8(id >> 8), UInt8(id & 0xFF), 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]
        for label in host.split(separator: ".") {
            query.append(UInt8(label.utf8.count))
            query.append(contentsOf: label.utf8)
        }
        query += [0, 0, 1, 0, 1]
        var server = sockaddr_in()
        server.sin_family = sa_family_t(AF_INET)
        server.sin_port = UInt16(port).bigEndian
        server.sin_addr.s_addr = inet_addr("127.0.0.1")
        let sent = withUnsafePointer(to: &server) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { sendto(fd, query, query.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard sent == query.count else { return .failure(Failure(description: "sendto failed")) }
        var reply = [UInt8](repeating: 0, count: 1500)
        let count = recv(fd, &reply, reply.count, 0)
        guard count >= 12, reply[0] == query[0], reply[1] == query[1] else {
            return .failure(Failure(description: "\(host): no answer from the DNS stand-in"))
        }
        let answers = Int(reply[6]) << 8 | Int(reply[7])
        var index = 12
        func skipName() {
            while index < count {
                let length = Int(reply[index])
                if length == 0 { index += 1; return }
                if length & 0xC0 == 0xC0 { index += 2; return }
                index += 1 + length
            }
        }
        skipName()
        index += 4
        var out: [[UInt8]] = []
        for _ in 0..<answers where index < count {
            skipName()
            guard index + 10 <= count else { break }
            let type = Int(reply[index]) << 8 | Int(reply[index + 1])
            let length = Int(reply[index + 8]) << 8 | Int(reply[index + 9])
            index += 10
            if type == 1, length == 4, index + 4 <= count { out.append(Array(reply[index..<(index + 4)])) }
            index += length
        }
        return out.isEmpty ? .failure(Failure(description: "\(host): no A record")) : .success(out)
    }
}
