import Foundation

/// A Python helper from `Tests/Fixtures` run as a real process (a forward proxy, a verifier):
/// reports its port on its first line of output, logs to standard error.
public final class FixtureProcess: @unchecked Sendable {
    public let port: Int
    private let process = Process()
    private let errorURL: URL

    public init(_ script: String, arguments: [String] = []) throws {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/\(script)")
        errorURL = FileManager.default.temporaryDirectory.appendingPathComponent("fixture-\(UUID().uuidString).log")
        FileManager.default.createFile(atPath: errorURL.path, contents: nil)
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", path.path] + arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = try FileHandle(forWritingTo: errorURL)
        try process.run()
        guard let line = output.fileHandleForReading.availableLine(timeout: 10),
              let port = Int(line.trimmingCharacters(in: .whitespacesAndNewlines)) else {
            process.terminate()
            throw ReplyDroppingProxy.ProxyError(description: "\(script) did not report a port")
        }
        self.port = port
    }

    /// What the process wrote to standard error so far.
    public var log: String { (try? String(contentsOf: errorURL, encoding: .utf8)) ?? "" }

    public func stop() { if process.isRunning { process.terminate() } }

    deinit { stop() }
}
