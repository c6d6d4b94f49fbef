/// An address range (`10.0.0.0/8`, `fd00::/8`), for the egress guard's built-in ranges and
/// WEBHOOK_EGRESS_ALLOW. IPv4 ranges are kept in their IPv4-mapped form, like `IPAddress`.
public struct CIDR: Hashable, Sendable, CustomStringConvertible {
    public let address: IPAddress
    /// Prefix length over the 16-byte form (an IPv4 `/8` is `/104`).
    public let prefix: Int
    /// An IPv4 range contains only IPv4 addresses, an IPv6 range only IPv6 ones (not the
    /// IPv4-mapped forms, which `::/8` would otherwise cover): embedded IPv4 addresses are
    /// judged by the policy as the IPv4 addresses they are.
    public let isV4: Bool

    /// Parses `address/prefix` or a single address; nil when malformed.
    public init?(_ text: String) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard (1...2).contains(parts.count), let address = IPAddress(literal: String(parts[0])) else { return nil }
        let isV4 = !parts[0].contains(":")
        let maximum = isV4 ? 32 : 128
        let length: Int
        if parts.count == 2 {
            guard let given = Int(parts[1]), (0...maximum).contains(given), parts[1].allSatisfy(\.isNumber) else { return nil }
            length = given
        } else {
            length = maximum
        }
        self.address = address
        self.prefix = isV4 ? 96 + length : length
        self.isV4 = isV4
    }

    public func contains(_ candidate: IPAddress) -> Bool {
        guard candidate.isV4 == isV4 else { return false }
        var remaining = prefix
        for index in 0..<16 where remaining > 0 {
            let bits = min(8, remaining)
            let mask = UInt8(truncatingIfNeeded: 0xFF << (8 - bits))
            if candidate.bytes[index] & mask != address.bytes[index] & mask { return false }
            remaining -= bits
        }
        return true
    }

    public var description: String { "\(address)/\(isV4 ? prefix - 96 : prefix)" }
}
