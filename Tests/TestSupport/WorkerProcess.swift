import Foundation

/// The built `webhook-worker` executable, run as a child process the way a user runs it.
///
/// `swift build --build-tests` builds it next to the test bundle; tests start workers, send
/// them signals and read their exit status, standard output and log (standard error), each
/// captured to its own file.
public final class WorkerProcess: @unchecked Sendable {
    public let process = Process()
    /// The working directory, fresh per process (so no stray `.env` is read unless a test
    /// writes one there).
    public let workingDirectory: URL
    /// Standard error: where the worker's log lines go.
    public let logURL: URL
    /// Standard output: command results (`status`, `dead list`, ...).
    public let stdoutURL: URL
    private let logHandle: FileHandle
    private let stdoutHandle: FileHandle

    /// The path of the built executable (next to the test bundle).
    public static var executableURL: URL {
        let dir = Bundle.main.bundleURL.deletingLastPathComponent()
        let candidates = [dir, Bundle.main.bundleURL, dir.deletingLastPathComponent()]
            .map { $0.appendingPathComponent("webhook-worker") }
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0.path) } ?? candidates[0]
    }

    /// Starts `webhook-worker <arguments>` with exactly `environment` (plus PATH and HOME), in a
    /// fresh temporary working directory.
    /// - Parameters:
    ///   - files: written into the working directory first (name → contents), e.g.
    ///     `[".env": "REDIS_URL=..."]`.
    ///   - launcher: a command that runs the worker, e.g. `["faketime", "-f", "+90s"]` for a
    ///     skewed clock; the worker's path and arguments follow it.
    public init(_ arguments: [String], environment: [String: String], files: [String: String] = [:],
                launcher: [String] = []) throws {
        workingDirectory = FileManager.default.temporaryDirectory
            .appendingPathComponent("webhook-worker-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: workingDirectory, withIntermediateDirectories: true)
        for (name, contents) in files {
            try Data(contents.utf8).write(to: workingDirectory.appendingPathComponent(name))
        }
        logURL = workingDirectory.appendingPathComponent("stderr.log")
        stdoutURL = workingDirectory.appendingPathComponent("stdout.log")
        FileManager.default.createFile(atPath: logURL.path, contents: nil)
        FileManager.default.createFile(atPath: stdoutURL.path, contents: nil)
        logHandle = try FileHandle(forWritingTo: logURL)
        stdoutHandle = try FileHandle(forWritingTo: stdoutURL)
        var env = environment
        let inherited = ProcessInfo.processInfo.environment
        env["PATH"] = inherited["PATH"]
        env["HOME"] = inherited["HOME"]
        if launcher.isEmpty {
            process.executableURL = Self.executableURL
            process.arguments = arguments
        } else {
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = launcher + [Self.executableURL.path] + arguments
        }
        process.environment = env
        process.currentDirectoryURL = workingDirectory
        process.standardOutput = stdoutHandle
        process.standardError = logHandle
        try process.run()
    }

    /// Starts `webhook-worker run`.
    public static func run(_ environment: [String: String]) throws -> WorkerProcess {
        try WorkerProcess(["run"], environment: environment)
    }

    /// What a finished command printed, stdout and stderr apart.
    public struct CommandResult: Sendable {
        /// The exit status (a command that does not finish in time throws instead).
        public let status: Int32
        public let stdout: String
        public let stderr: String
    }

    /// A command that was still running at its deadline: a hang is a failure, never an exit
    /// status a test could mistake for "exits non-zero".
    public struct TimedOut: Error, CustomStringConvertible {
        public let arguments: [String]
        public let timeout: Double
        public let output: String
        public var description: String {
            "webhook-worker \(arguments.joined(separator: " ")) did not exit within \(timeout) s; output:\n\(output)"
        }
    }

    /// Runs a short command (`status`, `dead list`, `enqueue`, ...) to completion.
    /// - Throws: `TimedOut` (after killing it) when it is still running after `timeout`.
    public static func complete(_ arguments: [String], environment: [String: String],
                                files: [String: String] = [:], timeout: Double = 30) async throws -> CommandResult {
        let worker = try WorkerProcess(arguments, environment: environment, files: files)
        guard let status = await worker.exit(timeout: timeout) else {
            worker.kill()
            throw TimedOut(arguments: arguments, timeout: timeout, output: worker.stdout + worker.log)
        }
        return CommandResult(status: status, stdout: worker.stdout, stderr: worker.log)
    }

    /// Runs a short command to completion; `output` is standard output followed by standard
    /// error.
    /// - Throws: `TimedOut` (after killing it) when it is still running after `timeout`.
    public static func command(_ arguments: [String], environment: [String: String],
                               timeout: Double = 30) throws -> (status: Int32, output: String) {
        let worker = try WorkerProcess(arguments, environment: environment)
        guard let status = worker.waitForExit(timeout: timeout) else {
            worker.kill()
            throw TimedOut(arguments: arguments, timeout: timeout, output: worker.stdout + worker.log)
        }
        return (status, worker.stdout + worker.log)
    }

    /// Standard error so far: the log.
    public var log: String {
        (try? String(contentsOf: logURL, encoding: .utf8)) ?? ""
    }

    /// Standard output so far.
    public var stdout: String {
        (try? String(contentsOf: stdoutURL, encoding: .utf8)) ?? ""
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

    /// Waits for the exit; nil on timeout. Blocks the thread: async tests use `exit(timeout:)`.
    @discardableResult
    public func waitForExit(timeout: Double) -> Int32? {
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning {
            if Date() > deadline { return nil }
            Thread.sleep(forTimeInterval: 0.02)
        }
        return process.terminationStatus
    }

    /// Waits for the exit without blocking a thread; nil on timeout.
    @discardableResult
    public func exit(timeout: Double) async -> Int32? {
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning {
            if Date() > deadline { return nil }
            try? await Task.sleep(nanoseconds: 20_000_000)
        }
        return process.terminationStatus
    }

    deinit {
        if process.isRunning { Foundation.kill(process.processIdentifier, SIGKILL) }
        try? logHandle.close()
        try? stdoutHandle.close()
    }
}
