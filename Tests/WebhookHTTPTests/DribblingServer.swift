import Foundation
import Glibc

/// A raw-socket HTTP/1.1 server on 127.0.0.1 that answers every request with a fixed head and
/// then sends the body slowly (or not at all), the way an overloaded receiver does. A real
/// socket, not a mock: the client under test goes through its whole network path.
///
/// Each connection is served on its own thread: the request is read up to the end of its body,
/// then `head` is written, then one byte of body every `interval` seconds for `dribbleFor`
/// seconds (never `interval` = no body at all), then the connection is closed.
final class DribblingServer: @unchecked Sendable {
    let port: Int
    private let listener: Int32
    private let head: [UInt8]
    private let interval: Double?
    private let dribbleFor: Double
    private let lock = NSLock()
    private var stopped = false
    private var clients: [Int32] = []

    var url: String { "http://127.0.0.1:\(port)/hook" }

    struct Failure: Error { let call: String; let code: Int32 }

    init(head: String, interval: Double?, dribbleFor: Double) throws {
        self.head = Array(head.utf8)
        self.interval = interval
        self.dribbleFor = dribbleFor
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Failure(call: "socket", code: errno) }
        var yes: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let ok = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, length) == 0 && listen(fd, 16) == 0 && getsockname(fd, $0, &length) == 0
            }
        }
        guard ok else {
            close(fd)
            throw Failure(call: "bind/listen", code: errno)
        }
        listener = fd
        port = Int(UInt16(bigEndian: address.sin_port))
        Thread { [self] in acceptLoop() }.start()
    }

    func stop() {
        lock.lock()
        stopped = true
        let open = clients
        clients = []
        lock.unlock()
        shutdown(listener, Int32(SHUT_RDWR))
        close(listener)
        for fd in open { shutdown(fd, Int32(SHUT_RDWR)) }
    }

    private var isStopped: Bool {
        lock.lock(); defer { lock.unlock() }
        return stopped
    }

    private func acceptLoop() {
        while !isStopped {
            let fd = accept(listener, nil, nil)
            guard fd >= 0 else { return }
            lock.lock()
            clients.append(fd)
            lock.unlock()
            Thread { [self] in serve(fd) }.start()
        }
    }

    private func serve(_ fd: Int32) {
        defer { close(fd) }
        guard readRequest(fd) else { return }
        guard write(fd, head) else { return }
        guard let interval else {
            Thread.sleep(forTimeInterval: dribbleFor)
            return
        }
        let end = Date().addingTimeInterval(dribbleFor)
        while Date() < end, !isStopped {
            guard write(fd, [UInt8(ascii: "x")]) else { return }
            Thread.sleep(forTimeInterval: interval)
        }
    }

    /// Reads one request (head and Content-Length body); false when the peer went away.
    private func readRequest(_ fd: Int32) -> Bool {
        var data: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        let separator: [UInt8] = [13, 10, 13, 10]
        var headEnd: Int?
        var needed = Int.max
        while data.count < needed {
            let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            guard count > 0 else { return false }
            data.append(contentsOf: buffer[0..<count])
            if headEnd == nil, let end = firstIndex(of: separator, in: data) {
                headEnd = end + 4
                let text = String(decoding: data[0..<end], as: UTF8.self).lowercased()
                let length = text.split(separator: "\r\n")
                    .first { $0.hasPrefix("content-length:") }
                    .flatMap { Int($0.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces)) } ?? 0
                needed = end + 4 + length
            }
        }
        return true
    }

    private func firstIndex(of pattern: [UInt8], in data: [UInt8]) -> Int? {
        guard data.count >= pattern.count else { return nil }
        for start in 0...(data.count - pattern.count) where data[start..<start + pattern.count].elementsEqual(pattern) {
            return start
        }
        return nil
    }

    private func write(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) == $0.count }
    }
}
