/// The kind of a Redis error, so callers match on a code instead of parsing text.
///
/// Error replies start with an upper-case word (`OOM command not allowed...`,
/// `READONLY You can't write...`); scripts raise their own the same way (`UNREGISTERED ...`).
public enum RedisErrorCode: Equatable, Sendable {
    /// The transport failed (refused, reset, timed out): the connection is replaced.
    case connection
    /// Out of memory under `maxmemory-policy noeviction`: writes fail, reads work.
    case outOfMemory
    /// The server is a read-only replica (a failover happened).
    case readOnly
    /// The script cache lost a script (restart, SCRIPT FLUSH).
    case noScript
    /// Redis Cluster redirections and transient cluster states.
    case moved, ask, tryAgain, clusterDown
    /// The server is loading its dataset or busy running a script.
    case loading, busy
    /// Authentication is missing or wrong.
    case noAuth, wrongPass
    /// The take script refused: this worker is not registered (it was reaped).
    case unregistered
    /// A pinned script was not sent: the connection reached another server than the one it was
    /// pinned to (see `RedisQueue.pinnedServerChanges`).
    case serverChanged
    /// The reply had a shape the caller does not understand.
    case unexpectedReply
    /// Any other error reply; the first word of the message.
    case other(String)

    init(reply message: String) {
        let word = message.prefix { $0 != " " }
        switch word {
        case "OOM": self = .outOfMemory
        case "READONLY": self = .readOnly
        case "NOSCRIPT": self = .noScript
        case "MOVED": self = .moved
        case "ASK": self = .ask
        case "TRYAGAIN": self = .tryAgain
        case "CLUSTERDOWN": self = .clusterDown
        case "LOADING": self = .loading
        case "BUSY": self = .busy
        case "NOAUTH": self = .noAuth
        case "WRONGPASS": self = .wrongPass
        case "UNREGISTERED": self = .unregistered
        case "SERVERCHANGED": self = .serverChanged
        default: self = .other(String(word))
        }
    }
}

extension RedisError {
    /// What went wrong, to match on. Scripts' errors arrive wrapped by Redis
    /// (`ERR ... OOM ...` on older servers), so the message is searched for a known code when its
    /// first word is not one.
    public var code: RedisErrorCode {
        if isConnectionError { return .connection }
        if message.hasPrefix("unexpected reply") { return .unexpectedReply }
        let direct = RedisErrorCode(reply: message)
        guard case .other = direct else { return direct }
        for word in message.split(separator: " ") {
            let candidate = RedisErrorCode(reply: String(word.trimmingPrefix("-")))
            if case .other = candidate { continue }
            return candidate
        }
        return direct
    }

    /// True when a write failed for lack of memory (the write path must pause, reads go on).
    public var isOutOfMemory: Bool { code == .outOfMemory }
}
