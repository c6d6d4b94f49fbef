import Foundation
import Glibc
import Synchronization
import TestSupport
import WebhookHTTP
import XCTest

// Helpers of the HTTPClient tests: a completion log to wait on, request and client factories.

extension HTTPClientTests {
    /// Collects completions in arrival order and lets a test wait for a number of them.
    final class CompletionLog: Sendable {
        private let responses = Mutex<[HTTPResponse]>([])

        func add(_ batch: [HTTPResponse]) {
            responses.withLock { $0.append(contentsOf: batch) }
        }

        var all: [HTTPResponse] { responses.withLock { $0 } }

        func wait(count: Int, timeout: Double = 30) async throws -> [HTTPResponse] {
            let deadline = Date().addingTimeInterval(timeout)
            while true {
                let seen = all
                if seen.count >= count { return seen }
                if Date() >= deadline {
                    XCTFail("\(seen.count) of \(count) completions within \(timeout) s")
                    throw CancellationError()
                }
                try await Task.sleep(nanoseconds: 5_000_000)
            }
        }
    }

    func makeClient(maxConcurrent: Int = 16, maxPerLane: Int = 16) throws -> (HTTPClient, CompletionLog) {
        let log = CompletionLog()
        let client = try HTTPClient(maxConcurrent: maxConcurrent, maxPerLane: maxPerLane) { log.add($0) }
        return (client, log)
    }

    static func request(
        _ token: UInt64, _ url: String, body: [UInt8] = Array("{}".utf8),
        headers: [String] = ["Content-Type: application/json"], lane: Int = 0, timeout: Double = 30
    ) -> HTTPRequest {
        HTTPRequest(token: token, url: url, headers: headers, body: body, lane: lane, timeout: timeout)
    }

    /// Runs `body` with a started receiver and stops the receiver afterwards, also on failure.
    func withReceiver<T>(_ behaviour: ReceiverBehaviour, _ body: (HTTPReceiver) async throws -> T) async throws -> T {
        let receiver = try await HTTPReceiver.start(behaviour: behaviour)
        do {
            let result = try await body(receiver)
            await receiver.stop()
            return result
        } catch {
            await receiver.stop()
            throw error
        }
    }

    struct SocketError: Error { let call: String; let code: Int32 }

    func boundButNotListening() throws -> (Int32, Int) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw SocketError(call: "socket", code: errno) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        guard bound else {
            close(fd)
            throw SocketError(call: "bind/getsockname", code: errno)
        }
        return (fd, Int(UInt16(bigEndian: address.sin_port)))
    }

    /// `date` as an IMF-fixdate (RFC 9110), e.g. `Sun, 06 Nov 1994 08:49:37 GMT`.
    func httpDate(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss 'GMT'"
        return formatter.string(from: date)
    }
}
