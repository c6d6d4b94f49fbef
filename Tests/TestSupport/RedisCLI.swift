import Foundation

/// `redis-cli` against one test server: the tests' independent view of Redis.
///
/// Every call runs with `-e`, so an error reply (WRONGTYPE, NOAUTH, ...) or a refused connection
/// throws ``RedisCLIError`` instead of being read as a value: a helper must never turn "Redis
/// is down" into "the list is empty".
public struct RedisCLI: Sendable {
    public let host: String
    public let port: Int
    public let password: String?

    public init(host: String = "127.0.0.1", port: Int, password: String? = nil) {
        self.host = host
        self.port = port
        self.password = password
    }

    /// Runs one command; returns its raw output (redis-cli's raw mode: one line per element,
    /// strings unquoted), trimmed of surrounding whitespace.
    /// - Parameter stdin: when set, passed with `-x` as the command's last argument (binary safe).
    public func run(_ args: [String], stdin: [UInt8]? = nil) throws -> String {
        try output(args, stdin: stdin).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    public func run(_ args: String...) throws -> String {
        try run(args)
    }

    /// Runs one command; returns its output exactly as printed.
    public func output(_ args: [String], stdin: [UInt8]? = nil) throws -> String {
        var arguments = ["-e", "-h", host, "-p", String(port)]
        if let password { arguments += ["--no-auth-warning", "-a", password] }
        if stdin != nil { arguments.append("-x") }
        arguments += args
        let result = try Subprocess.run("redis-cli", arguments, stdin: stdin)
        guard result.status == 0 else {
            throw RedisCLIError(command: args, status: result.status,
                                message: (result.stderr + result.stdout).trimmingCharacters(in: .whitespacesAndNewlines))
        }
        return result.stdout
    }

    /// An integer reply (LLEN, ZCARD, EXISTS, ...); throws when the reply is not an integer.
    public func int(_ args: [String]) throws -> Int {
        let text = try run(args)
        guard let value = Int(text) else {
            throw RedisCLIError(command: args, status: 0, message: "expected an integer reply, got '\(text)'")
        }
        return value
    }

    public func int(_ args: String...) throws -> Int {
        try int(args)
    }

    /// The elements of an array reply (LRANGE, KEYS, ZRANGE): one per output line. Elements
    /// must not contain newlines.
    public func lines(_ args: [String]) throws -> [String] {
        try output(args).split(separator: "\n", omittingEmptySubsequences: true).map(String.init)
    }

    public func lines(_ args: String...) throws -> [String] {
        try lines(args)
    }
}

/// A `redis-cli` call that failed: an error reply, no connection, or an unexpected reply.
public struct RedisCLIError: Error, CustomStringConvertible {
    public let command: [String]
    public let status: Int32
    public let message: String
    public var description: String { "redis-cli \(command.joined(separator: " ")) failed (exit \(status)): \(message)" }
}
