import Foundation
import Synchronization

/// The egress guard's resolution step, before a guarded request starts: resolve the URL's host
/// with a deadline (``HostResolver``), refuse the request when *any* address is refused (a name
/// with one metadata address among public ones is refused whole), and pin the vetted addresses
/// for libcurl (a `CURLOPT_RESOLVE` entry), so the connection goes to a vetted address or none.
/// The connect-time check (`HTTPRequest.connectCheck` in the open-socket callback) stays as the
/// second line.
///
/// Applies to direct requests and to `socks5://` proxies (the client resolves the name for the
/// proxy: the pin is what the proxy is asked to reach). Through an HTTP(S) proxy or `socks5h://`
/// the proxy resolves the name: it is the policy point there, and nothing is pinned.
///
/// Owned by the curl thread. Lookups run on threads of their own: a request whose name has no
/// fresh answer is `pending` (the loop parks it) until its lookup ends and wakes the loop, so a
/// slow or dead DNS server never stalls the other transfers. Answers are kept for
/// ``HostResolver/cacheSeconds`` (a failure for `failureSeconds`), so a name is resolved once
/// per interval, not per request.
final class EgressPins {
    enum Decision: Equatable {
        /// Nothing to pin: no guard, a proxy that resolves, or an IP literal the guard allows.
        case none
        /// `host:port:addr[,addr...]` for CURLOPT_RESOLVE.
        case pin(String)
        /// The guard refuses the destination; no connection may be made.
        case refused(String)
        /// The name did not resolve in time (a transport failure, retried as such).
        case failed(String)
        /// Its name is being resolved: park the request until `absorbFinished` names the host.
        case pending(String)
    }

    private let resolver: HostResolver
    /// Wakes the curl thread when a lookup ends (called on the lookup's thread).
    private let wake: @Sendable () -> Void
    /// Names being resolved now (curl thread only).
    private var inFlight: Set<String> = []
    /// Lookups that ended, handed from their threads to the curl thread.
    private let finished = Finished()

    /// Ended lookups, from their threads to the curl thread.
    private final class Finished: Sendable {
        let list = Mutex<[(host: String, result: Result<[[UInt8]], HostResolver.LookupError>)]>([])
    }
    /// How long a failed lookup is remembered, in seconds: requests fail at once meanwhile.
    static let failureSeconds = 5.0
    /// The shortest time an answer is kept (with `cacheSeconds` 0): the requests parked for it
    /// are judged by it, not sent to look it up again.
    static let minimumAnswerSeconds = 0.25
    /// Vetted-or-not answers per lowercased host, with the addresses as CURLOPT_RESOLVE writes
    /// them (built once per answer, not per request).
    private var cache: [String: (answer: Result<(addresses: [[UInt8]], text: String), HostResolver.LookupError>, until: Double)] = [:]
    /// The longest a lookup may take, in seconds, whatever the request's own timeout.
    static let maxLookupSeconds = 10.0

    /// A URL's host, lowercased host, port and IP-literal bytes, as `decide` needs them, and
    /// the verdicts on the literal by checks with an identity.
    private final class ParsedURL {
        let host: String
        let key: String
        let port: Int
        let literal: [UInt8]?
        /// The refusal (nil: allowed) of `literal` per check, newest last: a URL is normally
        /// judged by one endpoint's check, so a short list searched in order is enough.
        var verdicts: [(check: ConnectCheckID, refusal: String?)] = []

        init(host: String, key: String, port: Int, literal: [UInt8]?) {
            self.host = host
            self.key = key
            self.port = port
            self.literal = literal
        }
    }
    /// The most verdicts kept per URL (the oldest goes first).
    static let maxVerdicts = 4
    /// Parsed URLs, so a guarded request (the default WEBHOOK_EGRESS guard is on) costs a
    /// dictionary lookup rather than a parse of its URL with `String` searches: that parse was
    /// about 2 % of the worker's CPU samples under the bench's load (`benchlib/profile.py`).
    /// Bounded: URLs taken from events (`url_from`) may all differ, so the memo is emptied when
    /// it reaches `maxParsed` entries.
    private var parsed: [String: ParsedURL?] = [:]
    /// The last URL parsed and its result (see `parse`).
    private var lastParsed: (url: String, parsed: ParsedURL?)?
    static let maxParsed = 4096

    init(resolver: HostResolver, wake: @escaping @Sendable () -> Void) {
        self.resolver = resolver
        self.wake = wake
    }

    /// Moves ended lookups into the cache; returns their hosts, whose parked requests may go on.
    func absorbFinished() -> [String] {
        let ended = finished.list.withLock { list in
            defer { list.removeAll() }
            return list
        }
        guard !ended.isEmpty else { return [] }
        let now = Date().timeIntervalSince1970
        if cache.count > 4096 { cache.removeAll() }
        for (host, result) in ended {
            inFlight.remove(host)
            switch result {
            case .success(let found):
                let addresses = found.filter { $0.count == 4 || $0.count == 16 }
                if addresses.isEmpty {
                    cache[host] = (.failure(.init("\(host) has no IPv4 or IPv6 address")), now + Self.failureSeconds)
                } else {
                    // Kept at least until the requests parked for it are judged, even with no caching.
                    cache[host] = (.success((addresses, addresses.map(Self.text).joined(separator: ","))),
                                   now + max(resolver.cacheSeconds, Self.minimumAnswerSeconds))
                }
            case .failure(let error):
                cache[host] = (.failure(error), now + Self.failureSeconds)
            }
        }
        return ended.map(\.host)
    }

    func decide(_ request: HTTPRequest) -> Decision {
        guard let check = request.connectCheck else { return .none }
        if let proxy = request.proxy, !Self.isSocks5(proxy) { return .none }
        guard let target = parse(request.url) else { return .none }
        let host = target.host, port = target.port
        if let literal = target.literal {
            // A literal needs no lookup; through socks5:// it is judged here, as the open-socket
            // check only sees the connection to the proxy. A check with an identity is a pure
            // function of the address: its verdict on this literal is judged once.
            let refusal: String?
            if let id = request.connectCheckID {
                if let known = target.verdicts.first(where: { $0.check == id }) {
                    refusal = known.refusal
                } else {
                    refusal = check(literal)
                    if target.verdicts.count >= Self.maxVerdicts { target.verdicts.removeFirst() }
                    target.verdicts.append((id, refusal))
                }
            } else {
                refusal = check(literal)
            }
            if let refusal { return .refused(refusal) }
            return .none
        }
        let key = target.key
        guard let cached = cache[key], cached.until > Date().timeIntervalSince1970 else {
            if !inFlight.contains(key) {
                inFlight.insert(key)
                let timeout = request.timeout > 0 ? min(request.timeout, Self.maxLookupSeconds) : Self.maxLookupSeconds
                let lookup = resolver.lookup, finished = self.finished, wake = self.wake
                let thread = Thread {
                    let result = lookup(key, timeout)
                    finished.list.withLock { $0.append((key, result)) }
                    wake()
                }
                thread.name = "webhook-dns"
                thread.start()
            }
            return .pending(key)
        }
        let addresses: [[UInt8]], text: String
        switch cached.answer {
        case .failure(let error): return .failed(error.description)
        case .success(let answer): (addresses, text) = answer
        }
        // Every address is judged: one refused address refuses the name (the endpoint's policy
        // decides, so the verdict is not cached with the answer).
        for address in addresses {
            if let refusal = check(address) { return .refused("\(host) resolves to \(refusal)") }
        }
        return .pin("\(key):\(port):" + text)
    }

    /// Whether a proxy URL's scheme is `socks5://` (the client resolves for it), in any case,
    /// compared in place: `lowercased()` made a string per proxied request.
    static func isSocks5(_ proxy: String) -> Bool {
        let scheme = "socks5://".utf8
        var bytes = proxy.utf8.makeIterator()
        for expected in scheme {
            guard let byte = bytes.next(), byte | (byte >= 0x41 && byte <= 0x5A ? 0x20 : 0) == expected else { return false }
        }
        return true
    }

    /// `url`'s parts, from the memo or parsed now (nil: not an http(s) URL with a host).
    private func parse(_ url: String) -> ParsedURL? {
        // The last URL first: a run of requests to one endpoint shares its URL's storage, which
        // compares equal at once; the dictionary hashed every byte of the URL per request.
        if let last = lastParsed, last.url == url { return last.parsed }
        let found = lookUp(url)
        lastParsed = (url, found)
        return found
    }

    private func lookUp(_ url: String) -> ParsedURL? {
        if let known = parsed[url] { return known }
        var result: ParsedURL?
        if let (host, port) = Self.hostAndPort(url) {
            result = ParsedURL(host: host, key: host.lowercased(), port: port, literal: Self.literalBytes(host))
        }
        if parsed.count >= Self.maxParsed { parsed.removeAll(keepingCapacity: true) }
        parsed[url] = .some(result)
        return result
    }

    /// Host (brackets removed from an IPv6 literal) and port of an http(s) URL.
    static func hostAndPort(_ url: String) -> (String, Int)? {
        guard let schemeEnd = url.range(of: "://") else { return nil }
        let scheme = url[..<schemeEnd.lowerBound].lowercased()
        let authority = url[schemeEnd.upperBound...].prefix { $0 != "/" && $0 != "?" && $0 != "#" }
        let hostPort = authority.split(separator: "@", omittingEmptySubsequences: false).last ?? ""
        var host: Substring
        var portText: Substring?
        if hostPort.hasPrefix("[") {
            guard let close = hostPort.firstIndex(of: "]") else { return nil }
            host = hostPort[hostPort.index(after: hostPort.startIndex)..<close]
            let rest = hostPort[hostPort.index(after: close)...]
            if rest.hasPrefix(":") { portText = rest.dropFirst() }
        } else if let colon = hostPort.lastIndex(of: ":") {
            host = hostPort[..<colon]
            portText = hostPort[hostPort.index(after: colon)...]
        } else {
            host = hostPort
        }
        guard !host.isEmpty else { return nil }
        let port: Int
        if let portText, !portText.isEmpty {
            guard let number = Int(portText), (1...65535).contains(number) else { return nil }
            port = number
        } else {
            port = scheme == "https" ? 443 : 80
        }
        return (String(host), port)
    }

    /// The bytes of an IP literal host, read as libcurl reads URL hosts (any `inet_aton` form of
    /// IPv4, IPv6 with an optional zone); nil for a name.
    static func literalBytes(_ host: String) -> [UInt8]? {
        var text = Substring(host)
        if text.contains(":") {
            if let zone = text.firstIndex(of: "%") { text = text[..<zone] }
            var address = in6_addr()
            guard inet_pton(AF_INET6, String(text), &address) == 1 else { return nil }
            return withUnsafeBytes(of: &address) { Array($0) }
        }
        // Only digits, dots and hex letters after 0x can be an IPv4 literal; a name has others.
        guard text.allSatisfy({ $0.isHexDigit || $0 == "." || $0 == "x" || $0 == "X" }),
              text.first?.isNumber == true else { return nil }
        var address = in_addr()
        guard inet_aton(String(text), &address) != 0 else { return nil }
        return withUnsafeBytes(of: &address) { Array($0) }
    }

    /// An address as CURLOPT_RESOLVE takes it (IPv6 in brackets).
    static func text(_ bytes: [UInt8]) -> String {
        if bytes.count == 4 { return bytes.map(String.init).joined(separator: ".") }
        var address = in6_addr()
        withUnsafeMutableBytes(of: &address) { $0.copyBytes(from: bytes) }
        var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        inet_ntop(AF_INET6, &address, &buffer, socklen_t(buffer.count))
        return "[" + String(cString: buffer) + "]"
    }
}
