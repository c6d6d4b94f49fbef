/// Which addresses a worker may connect to (WEBHOOK_EGRESS, WEBHOOK_EGRESS_ALLOW, an endpoint's
/// `egress: private-ok`). Why: an endpoint's name, or a URL taken from an event, could point a
/// worker at a cloud metadata service or at the operator's own private network.
///
/// Every IPv4 address an IPv6 address embeds (IPv4-mapped, NAT64, 6to4, IPv4-compatible) is
/// judged too, so no spelling of a forbidden address passes.
public struct EgressPolicy: Sendable, Equatable {
    public enum Mode: String, Sendable, CaseIterable {
        /// Never link-local or cloud-metadata addresses (the default).
        case metadata
        /// Also never loopback, RFC 1918, CGNAT, unique-local or `::/8` addresses.
        case `private`
        /// No guard.
        case off
    }

    public var mode: Mode
    /// Ranges exempt from the guard (WEBHOOK_EGRESS_ALLOW).
    public var allow: [CIDR]

    public init(mode: Mode, allow: [CIDR] = []) {
        self.mode = mode
        self.allow = allow
    }

    /// Link-local and metadata: 169.254.0.0/16 (AWS, GCP, Azure, ... metadata at
    /// 169.254.169.254), fe80::/10, AWS's IPv6 metadata fd00:ec2::254.
    static let metadataRanges = ["169.254.0.0/16", "fe80::/10", "fd00:ec2::254/128"].map { CIDR($0)! }
    /// What `private` adds: "this network", loopback, RFC 1918, CGNAT (RFC 6598), and for IPv6
    /// the unspecified and loopback addresses, unique-local fc00::/7 and the rest of ::/8.
    static let privateRanges = ["0.0.0.0/8", "127.0.0.0/8", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16",
                                "100.64.0.0/10", "::/8", "fc00::/7"].map { CIDR($0)! }

    /// Why `address` is refused, or nil when a connection to it is allowed.
    /// - Parameter privateOK: the endpoint's `egress: private-ok` (private ranges allowed; the
    ///   metadata ranges never are, unless WEBHOOK_EGRESS=off or WEBHOOK_EGRESS_ALLOW exempts them).
    public func refusal(_ address: IPAddress, privateOK: Bool = false) -> String? {
        guard mode != .off else { return nil }
        // An IPv4 (or IPv4-mapped) address is its own only form: judged without building the
        // list, which cost about six allocations on every request to an IP literal.
        if address.isV4 { return refusal(address, forms: CollectionOfOne(address), privateOK: privateOK) }
        return refusal(address, forms: [address] + address.embeddedV4.map { IPAddress(v4: $0) }, privateOK: privateOK)
    }

    private func refusal(_ address: IPAddress, forms: some Collection<IPAddress>, privateOK: Bool) -> String? {
        if forms.contains(where: { form in allow.contains { $0.contains(form) } }) { return nil }
        for form in forms {
            if Self.metadataRanges.contains(where: { $0.contains(form) }) {
                return "\(address) is a link-local or cloud-metadata address (WEBHOOK_EGRESS=\(mode.rawValue))"
            }
        }
        guard mode == .private, !privateOK else { return nil }
        for form in forms where Self.privateRanges.contains(where: { $0.contains(form) }) {
            return "\(address) is a private, loopback or local address (WEBHOOK_EGRESS=private)"
        }
        return nil
    }
}
