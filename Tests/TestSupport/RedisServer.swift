import Foundation
import WebhookCore

/// A real `redis-server` for tests: its own free port on 127.0.0.1, its own temporary directory,
/// no RDB snapshots, no AOF unless asked. Stopped (and its directory deleted) on `deinit`.
public final class RedisServer: @unchecked Sendable {
    public let port: Int
    /// The server's working directory (logfile, AOF).
    public let directory: URL
    /// The `requirepass` password, if any.
    public let password: String?
    private let extraArguments: [String]
    private let lock = NSLock()
    private var process: Process?        // guarded by `lock`
    private var appendonly: Bool          // guarded by `lock`

    /// Starts a server and waits until it answers PING.
    /// - Parameters:
    ///   - password: set as `requirepass`.
    ///   - appendonly: persist every write (`appendfsync always`), for restart tests.
    ///   - extraArguments: more `redis-server` flags, e.g. `["--rename-command", "CONFIG", ""]`.
    public init(password: String? = nil, appendonly: Bool = false, extraArguments: [String] = []) throws {
        self.password = password
        self.appendonly = appendonly
        self.extraArguments = extraArguments
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("redis-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        // A port found free can be taken before redis binds it: try a few.
        var started: (port: Int, process: Process)?
        var lastError: Error?
        for _ in 0..<5 where started == nil {
            do {
                let candidate = try Self.freePort()
                if let process = try Self.launch(port: candidate, directory: directory, password: password,
                                                 appendonly: appendonly, extraArguments: extraArguments) {
                    started = (candidate, process)
                }
            } catch {
                lastError = error
            }
        }
        guard let started else {
            try? FileManager.default.removeItem(at: directory)
            throw lastError ?? RedisServerError(message: "redis-server exited at start-up; see its log")
        }
        port = started.port
        process = started.process
    }

    deinit {
        kill()
        try? FileManager.default.removeItem(at: directory)
    }

    /// `redis://[:password@]127.0.0.1:<port>/<database>`.
    public var url: RedisURL { url(database: 0) }

    /// The server's URL for another database or user.
    public func url(database: Int, username: String? = nil, password: String? = nil) -> RedisURL {
        RedisURL(host: "127.0.0.1", port: port, username: username, password: password ?? self.password, database: database)
    }

    /// Graceful stop: SIGTERM, then waits for the exit.
    public func stop() {
        sendSignal(SIGTERM)
    }

    /// Abrupt stop: SIGKILL (no AOF flush beyond what `appendfsync always` wrote).
    public func kill() {
        sendSignal(SIGKILL)
    }

    /// SIGSTOP: the server keeps its connections open and answers nothing (a hung Redis).
    public func suspend() {
        lock.lock()
        defer { lock.unlock() }
        if let process, process.isRunning { Glibc.kill(process.processIdentifier, SIGSTOP) }
    }

    /// SIGCONT after `suspend()`: the server answers again, in order.
    public func resume() {
        lock.lock()
        defer { lock.unlock() }
        if let process, process.isRunning { Glibc.kill(process.processIdentifier, SIGCONT) }
    }

    /// Starts the server again on the same port and directory (stopping it first if running).
    /// - Parameter appendonly: switch persistence; nil keeps the current setting.
    public func restart(appendonly: Bool? = nil) throws {
        stop()
        lock.lock()
        defer { lock.unlock() }
        if let appendonly { self.appendonly = appendonly }
        // The old socket may linger briefly (redis uses SO_REUSEADDR, but be patient).
        let deadline = Date().addingTimeInterval(10)
        while true {
            do {
                process = try Self.launch(port: port, directory: directory, password: password,
                                          appendonly: self.appendonly, extraArguments: extraArguments)
                if process != nil { return }
            } catch where Date() < deadline {
            }
            guard Date() < deadline else {
                throw RedisServerError(message: "redis-server did not restart on port \(port)")
            }
            Thread.sleep(forTimeInterval: 0.1)
        }
    }

    /// Runs `redis-cli -p <port> [-a password] args...` and returns its output, trimmed; throws
    /// on an error reply or when the server does not answer.
    public func redisCLI(_ args: String...) throws -> String {
        try cli.run(args)
    }

    /// `redis-cli` bound to this server (and its password).
    public var cli: RedisCLI { RedisCLI(port: port, password: password) }

    // MARK: Internals

    private func sendSignal(_ signal: Int32) {
        lock.lock()
        defer { lock.unlock() }
        guard let process else { return }
        if process.isRunning { Glibc.kill(process.processIdentifier, signal) }
        // Polls instead of waitUntilExit(), which can hang when called from an async test.
        let deadline = Date().addingTimeInterval(10)
        while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.01) }
        if process.isRunning {
            Glibc.kill(process.processIdentifier, SIGKILL)
            while process.isRunning { Thread.sleep(forTimeInterval: 0.01) }
        }
        self.process = nil
    }

    /// Starts redis-server and waits for PING; nil when it exited at once (port taken).
    private static func launch(port: Int, directory: URL, password: String?, appendonly: Bool,
                               extraArguments: [String]) throws -> Process? {
        var arguments = [
            "--port", String(port), "--bind", "127.0.0.1", "--save", "", "--dir", directory.path,
            "--daemonize", "no", "--logfile", directory.appendingPathComponent("redis.log").path,
            "--appendonly", appendonly ? "yes" : "no",
        ]
        if appendonly { arguments += ["--appendfsync", "always"] }
        if let password { arguments += ["--requirepass", password] }
        arguments += extraArguments
        let process = Process()
        process.executableURL = try Subprocess.executable("redis-server")
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()

        let cli = RedisCLI(port: port, password: password)
        let deadline = Date().addingTimeInterval(15)
        while Date() < deadline {
            if !process.isRunning { return nil }
            if (try? cli.run("PING")) == "PONG" { return process }
            Thread.sleep(forTimeInterval: 0.02)
        }
        Glibc.kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        throw RedisServerError(message: "redis-server on port \(port) did not answer PING within 15 s")
    }

    /// A free port on 127.0.0.1 (see ``freeTCPPort()``).
    public static func freePort() throws -> Int {
        try freeTCPPort()
    }
}

/// Why a test Redis could not be started.
public struct RedisServerError: Error, CustomStringConvertible {
    public let message: String
    public var description: String { "RedisServer: \(message)" }
}
