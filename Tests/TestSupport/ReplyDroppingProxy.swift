import Foundation

/// A real TCP proxy in front of a server that loses the reply to one chosen request (the fault
/// "Redis applied it, the worker never heard"): `Tests/Fixtures/drop_reply_proxy.py`.
public final class ReplyDroppingProxy: @unchecked Sendable {
    public let port: Int
    private let process: Process
    private let errors = Pipe()

    /// - Parameters:
    ///   - upstreamPort: the server's port on 127.0.0.1.
    ///   - marker: bytes that identify the request whose reply is lost.
    ///   - times: how many replies to lose.
    ///   - minReplyBytes: lose only replies at least this long (e.g. a take that returned items).
    public init(upstreamPort: Int, marker: String, times: Int = 1, minReplyBytes: Int = 1) throws {
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/drop_reply_proxy.py")
        process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", script.path, String(upstreamPort), marker, String(times), String(minReplyBytes)]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        let line = output.fileHandleForReading.availableLine(timeout: 10)
        guard let port = line.flatMap({ Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) }) else {
            process.terminate()
            throw ProxyError(description: "drop_reply_proxy.py did not report a port (got \(line ?? "nothing"))")
        }
        self.port = port
    }

    public struct ProxyError: Error, CustomStringConvertible { public let description: String }

    public func stop() {
        if process.isRunning { process.terminate() }
    }

    deinit { stop() }
}

extension FileHandle {
    /// Reads one line, waiting at most `timeout` seconds.
    func availableLine(timeout: Double) -> String? {
        let deadline = Date().addingTimeInterval(timeout)
        var bytes: [UInt8] = []
        while Date() < deadline {
            let data = self.readData(ofLength: 1)
            if data.isEmpty { return nil }
            if data[0] == 0x0A { return String(decoding: bytes, as: UTF8.self) }
            bytes.append(data[0])
        }
        return nil
    }
}
