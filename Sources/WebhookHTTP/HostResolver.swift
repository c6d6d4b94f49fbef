import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Resolves a host name for the egress guard's pin: the client resolves each guarded request's
/// host itself, with a deadline, judges every address, and hands only vetted ones to libcurl
/// (CURLOPT_RESOLVE), so libcurl never resolves the name again and a DNS answer that changes
/// between the check and the connection (rebinding) cannot take the request elsewhere.
///
/// A seam: `system` is getaddrinfo; tests pass a lookup that asks a DNS stand-in of their own.
public struct HostResolver: Sendable {
    /// The addresses of `host` (4 bytes for IPv4, 16 for IPv6), or why there are none; must
    /// answer within `timeout` seconds.
    public typealias Lookup = @Sendable (_ host: String, _ timeout: Double) -> Result<[[UInt8]], LookupError>

    /// Why a name has no addresses.
    public struct LookupError: Error, Sendable, Equatable, CustomStringConvertible {
        public let description: String
        public init(_ description: String) { self.description = description }
    }

    public let lookup: Lookup
    /// How long a vetted answer is reused, in seconds (0: every request resolves again).
    public let cacheSeconds: Double

    public init(cacheSeconds: Double = 30, lookup: @escaping Lookup) {
        self.lookup = lookup
        self.cacheSeconds = cacheSeconds
    }

    /// getaddrinfo, on a thread of its own so the deadline holds (getaddrinfo has none): a
    /// lookup that outlives it finishes unseen.
    public static let system = HostResolver { host, timeout in
        let box = LookupBox()
        let thread = Thread {
            box.finish(getaddrinfoAddresses(host))
        }
        thread.name = "webhook-dns"
        thread.start()
        guard box.done.wait(timeout: .now() + max(0.001, timeout)) == .success else {
            return .failure(LookupError("resolving \(host) took longer than \(timeout) s"))
        }
        return box.result!
    }

    private static func getaddrinfoAddresses(_ host: String) -> Result<[[UInt8]], LookupError> {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        let code = getaddrinfo(host, nil, &hints, &list)
        guard code == 0 else { return .failure(LookupError("\(host) did not resolve: \(String(cString: gai_strerror(code)))")) }
        defer { freeaddrinfo(list) }
        var out: [[UInt8]] = []
        var entry = list
        while let info = entry?.pointee {
            if let address = info.ai_addr {
                var bytes: [UInt8] = []
                if info.ai_family == AF_INET {
                    address.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { v4 in
                        bytes = withUnsafeBytes(of: v4.pointee.sin_addr) { Array($0) }
                    }
                } else if info.ai_family == AF_INET6 {
                    address.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { v6 in
                        bytes = withUnsafeBytes(of: v6.pointee.sin6_addr) { Array($0) }
                    }
                }
                if !bytes.isEmpty && !out.contains(bytes) { out.append(bytes) }
            }
            entry = info.ai_next
        }
        return out.isEmpty ? .failure(LookupError("\(host) has no IPv4 or IPv6 address")) : .success(out)
    }

    private final class LookupBox: @unchecked Sendable {
        let done = DispatchSemaphore(value: 0)
        private let lock = NSLock()
        private var stored: Result<[[UInt8]], LookupError>?

        var result: Result<[[UInt8]], LookupError>? { lock.withLock { stored } }

        func finish(_ result: Result<[[UInt8]], LookupError>) {
            lock.withLock { stored = result }
            done.signal()
        }
    }
}
