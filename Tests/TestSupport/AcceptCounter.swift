import Foundation
import Synchronization

/// A TCP listener on 127.0.0.1 (a free port) that accepts each connection and closes it at once,
/// noting when: a server that is "down" in the way a crashed Redis behind a load balancer is, and
/// an independent count of how often a client really tries to connect (its own log may say
/// anything).
public final class AcceptCounter: Sendable {
    public let port: Int
    private let socket: Int32
    private let accepts = Mutex<[Double]>([])
    private let stopped = Mutex(false)
    private let finished = DispatchSemaphore(value: 0)

    public init() throws {
        let (socket, port) = try occupiedTCPPort()
        self.socket = socket
        self.port = port
        // The accept loop runs on a thread of its own: `accept` blocks, and the cooperative
        // pool's threads must stay free for the test's receivers.
        let thread = Thread { [self] in acceptLoop() }
        thread.name = "AcceptCounter"
        thread.start()
    }

    /// Unix seconds of every accepted connection so far, in order.
    public var times: [Double] { accepts.withLock { $0 } }

    /// Stops accepting and closes the port. Idempotent.
    public func stop() {
        let first = stopped.withLock { stopped in
            defer { stopped = true }
            return !stopped
        }
        guard first else { return }
        finished.wait()
        close(socket)
    }

    deinit { stop() }

    private func acceptLoop() {
        defer { finished.signal() }
        while !stopped.withLock({ $0 }) {
            var descriptor = pollfd(fd: socket, events: Int16(POLLIN), revents: 0)
            guard poll(&descriptor, 1, 20) > 0 else { continue }
            let connection = accept(socket, nil, nil)
            guard connection >= 0 else { continue }
            let now = Date().timeIntervalSince1970
            accepts.withLock { $0.append(now) }
            close(connection)
        }
    }
}
