/// The readiness check behind `GET /readyz`: is this server one a worker can write to?
extension RedisQueue {
    /// The key ``checkWritable(probeID:)`` writes: `<prefix>:probe:<probeID>`. Under the queue's
    /// prefix, so a hash-tagged prefix keeps it in the queue's cluster slot and ACLs that allow
    /// `<prefix>:*` allow it.
    func probeKey(_ probeID: String) -> String { "\(keys.prefix):probe:\(probeID)" }

    /// Returns when the server is a master that accepts a write; throws a `RedisError` saying
    /// why not otherwise.
    ///
    /// Two commands: `ROLE` (a replica, even a writable one, is not where the queue lives), then
    /// `SET <prefix>:probe:<probeID> 1 PX 10000`, which catches what ROLE cannot: `OOM` under
    /// `maxmemory-policy noeviction`, `NOREPLICAS` (min-replicas-to-write), `READONLY`, ACLs,
    /// a full disk with `stop-writes-on-bgsave-error`. The key expires by itself; one caller
    /// reuses one key, so probing leaves at most one short-lived key per process.
    /// A server without `ROLE` (renamed or forbidden on managed Redis) is judged by the write
    /// alone.
    public func checkWritable(probeID: String) throws(RedisError) {
        let role = try withConnection { connection throws(RedisError) in try connection.command("ROLE") }
        if let first = role.array?.first?.text, first != "master" {
            throw RedisError(call: "ROLE", message: "server is a \(first == "slave" ? "replica" : first), not the master",
                             isConnectionError: false)
        }
        let reply = try command("SET", probeKey(probeID), "1", "PX", "10000")
        guard reply.text == "OK" else { throw unexpected("SET", reply) }
    }
}

/// What `CONFIG GET maxmemory-policy` told.
public enum MaxmemoryPolicyReading: Equatable, Sendable {
    case policy(String)
    /// CONFIG is renamed or forbidden (managed Redis, ACLs): the server's error reply.
    case unreadable(String)
}

extension RedisQueue {
    /// The server's `maxmemory-policy`, or why it cannot be read; throws only when Redis does
    /// not answer.
    public func readMaxmemoryPolicy() throws(RedisError) -> MaxmemoryPolicyReading {
        let reply = try withConnection { connection throws(RedisError) in
            try connection.command("CONFIG", "GET", "maxmemory-policy")
        }
        if let message = reply.errorMessage { return .unreadable(message) }
        guard let pair = reply.array, pair.count == 2, let policy = pair[1].text else {
            return .unreadable("unexpected reply \(reply)")
        }
        return .policy(policy)
    }
}
