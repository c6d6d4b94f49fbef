import Foundation

/// The built `webhook-worker` executable, run as a child process the way a user runs it.
///
/// `swift build --build-tests` builds it next to the test bundle; tests start workers, send
/// them signals and read their exit status and log.
public final class WorkerProcess: @unchecked Sendable {
    public let process = Process()
    public let logURL: URL
    private let logHandle: FileHandle

    /// The path of the built executable (next to the test bundle).
    public static var executableURL: URL {
        let dir = Bundle.main.bundleURL.deletingLastPathComponent()
        let candidates = [dir, Bundle.main.bundleURL, dir.deletingLastPathComponent()]
            .map { $0.appendingPathComponent("webhook-worker") }
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0.path) } ?? candidates[0]
    }

    /// Starts `webhook-worker <arguments>` with exactly `environment` (plus PATH and HOME), in a
    /// fresh temporary working directory so no stray `.env` is read.
    public init(_ arguments: [String], environment: [String: String]) throws {
        let workdir = FileManager.default.temporaryDirectory
            .appendingPathComponent("webhook-worker-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: workdir, withIntermediateDirectories: true)
        logURL = workdir.appendingPathComponent("worker.log")
        FileManager.default.createFile(atPath: logURL.path, contents: nil)
        logHandle = try FileHandle(forWritingTo: logURL)
        var env = environment
        let inherited = ProcessInfo.processInfo.environment
        env["PATH"] = inherited["PATH"]
        env["HOME"] = inherited["HOME"]
        process.executableURL = Self.executableURL
        process.arguments = arguments
        process.environment = env
        process.currentDirectoryURL = workdir
        process.standardOutput = logHandle
        process.standardError = logHandle
        try process.run()
    }

    /// Starts `webhook-worker run`.
    public static func run(_ environment: [String: String]) throws -> WorkerProcess {
        try WorkerProcess(["run"], environment: environment)
    }

    /// Runs a short command (`status`, `dead list`, `enqueue`, ...) to completion.
    public static func command(_ arguments: [String], environment: [String: String],
                               timeout: Double = 30) throws -> (status: Int32, output: String) {
        let worker = try WorkerProcess(arguments, environment: environment)
        let status = worker.waitForExit(timeout: timeout) ?? -1
        return (status, worker.log)
    }

    public var log: String {
        (try? String(contentsOf: logURL, encoding: .utf8)) ?? ""
    }

    public var isRunning: Bool { process.isRunning }

    /// SIGTERM, as an orchestrator stops a container.
    public func terminate() { process.terminate() }

    public func interrupt() { process.interrupt() }

    /// SIGKILL: no chance to clean up.
    public func kill() {
        Foundation.kill(process.processIdentifier, SIGKILL)
        _ = waitForExit(timeout: 10)
    }

    /// Waits for the exit; nil on timeout.
    @discardableResult
    public func waitForExit(timeout: Double) -> Int32? {
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning {
            if Date() > deadline { return nil }
            Thread.sleep(forTimeInterval: 0.02)
        }
        return process.terminationStatus
    }

    deinit {
        if process.isRunning { Foundation.kill(process.processIdentifier, SIGKILL) }
        try? logHandle.close()
    }
}

/// Polls `condition` until it holds or `timeout` passes; returns whether it held.
public func eventually(timeout: Double, interval: Double = 0.05, _ condition: () throws -> Bool) rethrows -> Bool {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
        if try condition() { return true }
        Thread.sleep(forTimeInterval: interval)
    }
    return try condition()
}
