#if canImport(Glibc)
import Glibc
#endif

/// An IPv4 or IPv6 address, parsed exactly as a URL host or a socket address spells it, so the
/// egress guard judges the address a connection really goes to, whatever its spelling.
///
/// IPv4 is kept as its IPv4-mapped IPv6 form (`::ffff:a.b.c.d`), so one 16-byte value covers both
/// families and every embedding of an IPv4 address is compared the same way.
public struct IPAddress: Hashable, Sendable, CustomStringConvertible {
    /// The 16 bytes of the address (IPv4 as `::ffff:a.b.c.d`).
    public let bytes: [UInt8]

    public init(v6 bytes: [UInt8]) {
        precondition(bytes.count == 16)
        self.bytes = bytes
    }

    public init(v4 bytes: [UInt8]) {
        precondition(bytes.count == 4)
        self.bytes = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF] + bytes
    }

    /// The IPv4 address when this is one (or IPv4-mapped).
    public var v4: [UInt8]? {
        isV4 ? Array(bytes[12...]) : nil
    }

    /// Whether this is an IPv4 (IPv4-mapped) address: `v4 != nil` without building the array,
    /// for `CIDR.contains`, which the egress guard runs for every range on every request.
    public var isV4: Bool {
        bytes[0..<10].allSatisfy { $0 == 0 } && bytes[10] == 0xFF && bytes[11] == 0xFF
    }

    /// Parses a URL host: an IPv4 literal in any form `inet_aton` takes (`127.0.0.1`,
    /// `2130706433`, `0x7f.1`, `0177.0.0.1`: decimal, octal with a leading 0, hex with 0x, in one
    /// to four parts), or an IPv6 literal with or without brackets, with an optional zone id
    /// (`[fe80::1%25eth0]`, `fe80::1%eth0`). Nil for a name.
    public init?(literal text: String) {
        var host = Substring(text)
        if host.hasPrefix("[") && host.hasSuffix("]") { host = host.dropFirst().dropLast() }
        if host.contains(":") {
            if let zone = host.firstIndex(of: "%") { host = host[..<zone] }
            var address = in6_addr()
            guard inet_pton(AF_INET6, String(host), &address) == 1 else { return nil }
            self.init(v6: withUnsafeBytes(of: &address) { Array($0) })
            return
        }
        guard let v4 = Self.parseV4(host) else { return nil }
        self.init(v4: v4)
    }

    /// `inet_aton`'s grammar, written out: glibc's `inet_aton` also accepts trailing garbage
    /// after a space, which a URL host must not have.
    private static func parseV4(_ text: Substring) -> [UInt8]? {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard (1...4).contains(parts.count) else { return nil }
        var numbers: [UInt64] = []
        for part in parts {
            let lower = part.lowercased()
            let value: UInt64?
            if lower.hasPrefix("0x") {
                value = lower.count > 2 ? UInt64(lower.dropFirst(2), radix: 16) : 0
            } else if lower.count > 1 && lower.hasPrefix("0") {
                value = UInt64(lower.dropFirst(), radix: 8)
            } else {
                value = lower.isEmpty ? nil : UInt64(lower, radix: 10)
            }
            guard let value, value <= UInt64(UInt32.max) else { return nil }
            numbers.append(value)
        }
        // The last part fills the bytes the earlier parts leave (a.b.c.d, a.b.c16, a.b24, a32).
        for number in numbers.dropLast() where number > 255 { return nil }
        let lastBytes = 5 - numbers.count
        guard numbers.last! < (UInt64(1) << (8 * UInt64(lastBytes))) else { return nil }
        var out = numbers.dropLast().map { UInt8($0) }
        for shift in stride(from: 8 * (lastBytes - 1), through: 0, by: -8) {
            out.append(UInt8((numbers.last! >> UInt64(shift)) & 0xFF))
        }
        return out
    }

    /// The IPv4 addresses this one carries inside an IPv6 form that reaches them: IPv4-mapped
    /// (`::ffff:0:0/96`), NAT64 (`64:ff9b::/96`), 6to4 (`2002::/16`, bits 16-47) and the
    /// deprecated IPv4-compatible (`::/96`) spellings. Empty for other IPv6 addresses.
    public var embeddedV4: [[UInt8]] {
        if let v4 { return [v4] }
        var out: [[UInt8]] = []
        if bytes[0] == 0x00, bytes[1] == 0x64, bytes[2] == 0xFF, bytes[3] == 0x9B, bytes[4..<12].allSatisfy({ $0 == 0 }) {
            out.append(Array(bytes[12...]))
        }
        if bytes[0] == 0x20, bytes[1] == 0x02 { out.append(Array(bytes[2..<6])) }
        if bytes[0..<12].allSatisfy({ $0 == 0 }), !(bytes[12..<15].allSatisfy { $0 == 0 }) { out.append(Array(bytes[12...])) }
        return out
    }

    public var description: String {
        if let v4 { return v4.map(String.init).joined(separator: ".") }
        var address = in6_addr()
        withUnsafeMutableBytes(of: &address) { $0.copyBytes(from: bytes) }
        var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        return inet_ntop(AF_INET6, &address, &buffer, socklen_t(buffer.count)) != nil
            ? String(cString: buffer) : bytes.map { String($0, radix: 16) }.joined(separator: ":")
    }
}
