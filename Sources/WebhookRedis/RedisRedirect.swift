/// What an error reply tells the client about the node it is talking to, rather than about the
/// command: the command never ran there, so running it again elsewhere (or later) is safe.
///
/// `RedisConnection` throws these instead of returning the error reply; `LazyConnection` acts on
/// them, so the queue driver and the producer never see Cluster or failover plumbing.
public enum RedisRedirect: Sendable, Equatable {
    /// `-MOVED <slot> <host>:<port>`: the slot lives on another cluster node, for good.
    case moved(host: String, port: Int)
    /// `-ASK <slot> <host>:<port>`: the slot is migrating; ask that node once, after `ASKING`.
    case ask(host: String, port: Int)
    /// `-TRYAGAIN` (multi-key command during a slot migration) or `-CLUSTERDOWN`: wait briefly
    /// and run the command again.
    case busy
    /// `-READONLY`, `-UNBLOCKED`, `-MASTERDOWN`: the node is (or just became) a replica, so every
    /// write here fails. Treated as a broken connection: drop it and find the master again.
    case notMaster

    /// The redirect an error reply asks for; nil for an ordinary error reply.
    public static func classify(_ message: String) -> RedisRedirect? {
        let code = message.prefix { $0 != " " }
        switch code {
        case "MOVED", "ASK":
            let parts = message.split(separator: " ")
            guard parts.count >= 3, let address = parse(parts[2]) else { return nil }
            return code == "MOVED" ? .moved(host: address.host, port: address.port) : .ask(host: address.host, port: address.port)
        case "TRYAGAIN", "CLUSTERDOWN":
            return .busy
        case "READONLY", "UNBLOCKED", "MASTERDOWN":
            return .notMaster
        default:
            // A write inside a script on a replica fails with the script's error wrapping READONLY
            // ("ERR Error running script ... -READONLY You can't write against a read only replica").
            return message.contains("READONLY You can't write") ? .notMaster : nil
        }
    }

    /// `host:port` or `[v6]:port`; an empty host (`:6380`, sent by nodes that do not know their
    /// own address) is left for the caller to fill in, so it fails here.
    private static func parse(_ text: Substring) -> (host: String, port: Int)? {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]),
              (1...65535).contains(port) else { return nil }
        var host = text[..<colon]
        if host.hasPrefix("["), host.hasSuffix("]") { host = host.dropFirst().dropLast() }
        guard !host.isEmpty else { return nil }
        return (String(host), port)
    }
}
