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

    /// Runs `redis-cli -p <port> [-a password] args...` and returns its output, trimmed.
    public func redisCLI(_ args: String...) throws -> String {
        var arguments = ["-p", String(port)]
        if let password { arguments += ["--no-auth-warning", "-a", password] }
        return try Self.run("redis-cli", arguments + args)
    }

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
        process.executableURL = try executable("redis-server")
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()

        var pingArguments = ["-p", String(port)]
        if let password { pingArguments += ["--no-auth-warning", "-a", password] }
        let deadline = Date().addingTimeInterval(15)
        while Date() < deadline {
            if !process.isRunning { return nil }
            if (try? run("redis-cli", pingArguments + ["PING"])) == "PONG" { return process }
            Thread.sleep(forTimeInterval: 0.02)
        }
        Glibc.kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        throw RedisServerError(message: "redis-server on port \(port) did not answer PING within 15 s")
    }

    private static func run(_ tool: String, _ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = try executable(tool)
        process.arguments = arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    private static func executable(_ name: String) throws -> URL {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        for directory in path.split(separator: ":") {
            let candidate = URL(fileURLWithPath: String(directory)).appendingPathComponent(name)
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
        }
        throw RedisServerError(message: "\(name) not found in PATH")
    }

    /// A port the kernel just handed out for 127.0.0.1 (bound to 0, then released); tests use it
    /// for the other servers they start too.
    public static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw RedisServerError(message: "socket: errno \(errno)") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
                bind(fd, pointer, length) == 0 && getsockname(fd, pointer, &length) == 0
            }
        }
        guard bound else { throw RedisServerError(message: "bind 127.0.0.1:0: errno \(errno)") }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}

/// Why a test Redis could not be started.
public struct RedisServerError: Error, CustomStringConvertible {
    public let message: String
    public var description: String { "RedisServer: \(message)" }
}
