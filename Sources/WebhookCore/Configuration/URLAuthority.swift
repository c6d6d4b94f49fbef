/// The `host[:port]` part of a URL's authority: what follows `scheme://`, up to the first `/`,
/// `?` or `#`, after any `user:password@`. The one reading of it for the configuration's URL
/// checks and implicit endpoint names, so they agree on where the host is.
///
/// Not shared with: `HostPort` (listen addresses, no scheme, an empty host means every
/// interface), `URLRedaction` (keeps and masks the userinfo), and WebhookHTTP's `EgressPins`
/// (splits the port and strips IPv6 brackets, in a module that does not depend on this one).
public enum URLAuthority {
    /// The `host[:port]` of `url` (as written, brackets of an IPv6 literal kept); nil when `url`
    /// has no `://`. Empty when the authority has no host.
    public static func hostPort(of url: String) -> Substring? {
        guard let schemeEnd = url.range(of: "://") else { return nil }
        let authority = url[schemeEnd.upperBound...].prefix { $0 != "/" && $0 != "?" && $0 != "#" }
        return authority.split(separator: "@", omittingEmptySubsequences: false).last ?? ""
    }

    /// Whether `url` names a host: something before any `:port`.
    public static func hasHost(_ url: String) -> Bool {
        guard let hostPort = hostPort(of: url) else { return false }
        return !hostPort.isEmpty && !hostPort.hasPrefix(":")
    }
}
