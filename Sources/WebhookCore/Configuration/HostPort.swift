import Foundation

/// A listening address, `host:port` (`[::1]:9100` for IPv6; `:9100` means all interfaces).
public struct HostPort: Sendable, Equatable, CustomStringConvertible {
    public var host: String
    public var port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    /// Parses `text`; errors name `variable`.
    public init(parsing text: String, variable: String) throws(ConfigurationError) {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        let fail = { (why: String) in ConfigurationError(variable: variable, message: "\(why), got '\(trimmed)'") }
        var hostPart: Substring
        let portPart: Substring
        if trimmed.hasPrefix("[") {
            guard let close = trimmed.firstIndex(of: "]"), trimmed[trimmed.index(after: close)...].hasPrefix(":") else {
                throw fail("expected [IPv6]:PORT")
            }
            hostPart = trimmed[trimmed.index(after: trimmed.startIndex)..<close]
            portPart = trimmed[trimmed.index(close, offsetBy: 2)...]
        } else {
            guard let colon = trimmed.lastIndex(of: ":") else { throw fail("expected HOST:PORT") }
            hostPart = trimmed[..<colon]
            portPart = trimmed[trimmed.index(after: colon)...]
            guard !hostPart.contains(":") else { throw fail("an IPv6 host needs brackets: [HOST]:PORT") }
        }
        guard let port = Int(portPart), (0...65535).contains(port) else { throw fail("expected a port 0-65535") }
        guard !hostPart.contains(where: { $0.isWhitespace || $0 == "/" }) else { throw fail("invalid host") }
        if hostPart.isEmpty { hostPart = "0.0.0.0" }
        self.host = String(hostPart)
        self.port = port
    }

    /// `host:port`, with brackets around an IPv6 host.
    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}
