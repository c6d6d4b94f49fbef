import Foundation

/// Where Redis is: `redis://[[user]:password@]host[:port][/db]`, or a bare `host[:port]`.
/// TLS (`rediss://`) is not supported; use a TLS tunnel.
public struct RedisURL: Sendable, Equatable, CustomStringConvertible {
    public var host: String
    public var port: Int
    public var username: String?
    public var password: String?
    public var database: Int
    /// Set from REDIS_SENTINELS: the master's address comes from the sentinels, and `host` and
    /// `port` are unused.
    public var sentinel: RedisSentinel?

    /// `redis://127.0.0.1:6379/0`.
    public static let `default` = RedisURL(host: "127.0.0.1", port: 6379, username: nil, password: nil, database: 0)

    public init(host: String, port: Int = 6379, username: String? = nil, password: String? = nil, database: Int = 0,
                sentinel: RedisSentinel? = nil) {
        self.host = host
        self.sentinel = sentinel
        self.port = port
        self.username = username
        self.password = password
        self.database = database
    }

    /// Parses REDIS_URL. Errors never quote the password.
    public init(parsing text: String) throws(ConfigurationError) {
        func fail(_ message: String) -> ConfigurationError { ConfigurationError(variable: "REDIS_URL", message: message) }
        var rest = Substring(text.trimmingCharacters(in: .whitespaces))
        if rest.lowercased().hasPrefix("rediss://") {
            throw fail("TLS (rediss://) is not supported; reach Redis through a TLS tunnel (stunnel, spiped) and use redis://")
        }
        if let scheme = rest.range(of: "://") {
            guard rest[..<scheme.lowerBound].lowercased() == "redis" else {
                throw fail("unsupported scheme '\(rest[..<scheme.lowerBound])://', expected redis://")
            }
            rest = rest[scheme.upperBound...]
        }
        // The last "@" ends the credentials: an unencoded password may itself contain "@".
        var username: String?, password: String?
        if let at = rest.lastIndex(of: "@") {
            let credentials = rest[..<at]
            rest = rest[rest.index(after: at)...]
            if let colon = credentials.firstIndex(of: ":") {
                username = Self.percentDecoded(credentials[..<colon])
                password = Self.percentDecoded(credentials[credentials.index(after: colon)...])
            } else {
                username = Self.percentDecoded(credentials)
            }
            if username?.isEmpty == true { username = nil }
            if password?.isEmpty == true { password = nil }
        }
        guard !rest.contains("?") else { throw fail("query parameters are not supported in '\(rest)'") }
        var database = 0
        if let slash = rest.firstIndex(of: "/") {
            let path = rest[rest.index(after: slash)...]
            if !path.isEmpty {
                guard path.count <= 9, let number = Int(path), number >= 0 else {
                    throw fail("expected a database number >= 0 after '/', got '\(path)'")
                }
                database = number
            }
            rest = rest[..<slash]
        }
        var host = rest, port = 6379
        if rest.hasPrefix("[") {
            guard let close = rest.firstIndex(of: "]") else { throw fail("unclosed '[' in host '\(rest)'") }
            host = rest[rest.index(after: rest.startIndex)..<close]
            let after = rest[rest.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":"), let number = Int(after.dropFirst()), (1...65535).contains(number) else {
                    throw fail("expected a port 1-65535 after the host, got '\(after)'")
                }
                port = number
            }
        } else if let colon = rest.lastIndex(of: ":") {
            host = rest[..<colon]
            let portText = rest[rest.index(after: colon)...]
            guard let number = Int(portText), (1...65535).contains(number) else {
                throw fail("expected a port 1-65535, got '\(portText)'")
            }
            port = number
        }
        guard !host.isEmpty else { throw fail("no host given") }
        guard !host.contains(where: { $0.isWhitespace || $0 == ":" && !rest.hasPrefix("[") }) else {
            throw fail("invalid host '\(host)'")
        }
        self.init(host: String(host), port: port, username: username, password: password, database: database)
    }

    /// The URL with the password replaced by `***`; with Sentinel, the master name, the
    /// sentinels and the database instead.
    public var description: String {
        let hostText = host.contains(":") ? "[\(host)]" : host
        var credentials = ""
        if username != nil || password != nil {
            credentials = (username ?? "") + (password == nil ? "" : ":***") + "@"
        }
        let url = "redis://\(credentials)\(hostText):\(port)/\(database)"
        guard let sentinel else { return url }
        return "\(sentinel), database \(database)" + (credentials.isEmpty ? "" : ", credentials \(credentials.dropLast())")
    }

    private static func percentDecoded(_ text: Substring) -> String {
        String(text).removingPercentEncoding ?? String(text)
    }
}
