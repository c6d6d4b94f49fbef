import WebhookCore

/// Asks Redis Sentinel where the master is, one sentinel after the other.
///
/// Called on every (re)connect, so after a failover, a connection error or a `READONLY` reply the
/// next connection goes to the master the sentinels elected, not to the old address.
enum SentinelResolver {
    /// Seconds to wait for one sentinel before asking the next: a dead sentinel must not stall
    /// the failover that the others report.
    static let timeout: Double = 1

    /// The master's address according to the first sentinel that knows it.
    /// - Throws: a connection-level `RedisError` when no sentinel answered with an address, so the
    ///   owner backs off and retries as for an unreachable server. Every sentinel's failure is in
    ///   the message.
    static func master(_ sentinel: RedisSentinel) throws(RedisError) -> (host: String, port: Int) {
        var failures: [String] = []
        for address in sentinel.sentinels {
            do throws(RedisError) {
                let connection = try RedisConnection(url: RedisURL(host: address.host, port: address.port, password: sentinel.password),
                                                     connectTimeout: timeout, readTimeout: timeout)
                let reply = try connection.command("SENTINEL", "get-master-addr-by-name", sentinel.masterName)
                if let elements = reply.array, elements.count == 2, let host = elements[0].text,
                   let port = elements[1].text.flatMap({ Int($0) }), (1...65535).contains(port) {
                    return (host, port)
                }
                switch reply {
                case .null: failures.append("\(address): does not monitor a master named '\(sentinel.masterName)'")
                case .error(let message): failures.append("\(address): \(message)")
                default: failures.append("\(address): unexpected reply \(reply)")
                }
            } catch {
                failures.append("\(address): \(error.message)")
            }
        }
        throw RedisError(call: "SENTINEL get-master-addr-by-name(\(sentinel.masterName))",
                         message: "no sentinel named the master: " + failures.joined(separator: "; "), isConnectionError: true)
    }

    /// Checks with `ROLE` that `connection` is a master: sentinels keep naming the old master
    /// for a moment during a failover, and that node is about to become a replica.
    /// A server that refuses ROLE (renamed command) is trusted.
    static func verifyMaster(_ connection: RedisConnection, name: String) throws(RedisError) {
        let reply = try connection.command("ROLE")
        guard let role = reply.array?.first?.text, role != "master" else { return }
        throw RedisError(call: "ROLE(\(connection.address))",
                         message: "the sentinels named \(connection.address) as master '\(name)' but it is a \(role); asking again",
                         isConnectionError: true, redirect: .notMaster)
    }
}
