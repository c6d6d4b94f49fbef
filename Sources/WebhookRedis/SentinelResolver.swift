import WebhookCore

/// Asks Redis Sentinel where the master is, one sentinel after the other.
///
/// Used on every (re)connect, so after a failover, a connection error or a `READONLY` reply the
/// next connection goes to the master the sentinels elected, and between connects to notice a
/// failover while the old master still accepts writes. Keeps a connection to the sentinel that
/// answered last, so those checks cost one round trip. Not thread-safe, like its owner.
final class SentinelResolver {
    /// Seconds to wait for one sentinel before asking the next: a dead sentinel must not stall
    /// the failover that the others report.
    static let timeout: Double = 1

    /// Timeouts of the periodic check, which runs on the owner's thread between commands.
    static let checkTimeout: Double = 0.5

    let sentinel: RedisSentinel
    private var cached: RedisConnection?
    /// The sentinel the next periodic check connects to when none is cached.
    private var nextIndex = 0

    init(_ sentinel: RedisSentinel) {
        self.sentinel = sentinel
    }

    /// The master's address according to the first sentinel that knows it (the one that
    /// answered last is asked first).
    /// - Throws: a connection-level `RedisError` when no sentinel answered with an address, so the
    ///   owner backs off and retries as for an unreachable server. Every sentinel's failure is in
    ///   the message.
    func master() throws(RedisError) -> (host: String, port: Int) {
        var failures: [String] = []
        if let cached {
            do throws(RedisError) {
                if let address = try ask(cached, failures: &failures) { return address }
            } catch {
                failures.append("\(cached.address): \(error.message)")
            }
            self.cached = nil
        }
        for address in sentinel.sentinels {
            do throws(RedisError) {
                let connection = try RedisConnection(url: RedisURL(host: address.host, port: address.port, password: sentinel.password),
                                                     connectTimeout: Self.timeout, readTimeout: Self.timeout)
                if let master = try ask(connection, failures: &failures) {
                    cached = connection
                    return master
                }
            } catch {
                failures.append("\(address): \(error.message)")
            }
        }
        throw RedisError(call: "SENTINEL get-master-addr-by-name(\(sentinel.masterName))",
                         message: "no sentinel named the master: " + failures.joined(separator: "; "), isConnectionError: true)
    }

    /// For the periodic check while connected: one sentinel's answer (the cached connection, else
    /// the next sentinel in turn, with short timeouts), nil when that one cannot say. Asks one
    /// sentinel only, so unreachable sentinels cost the owner at most about a second.
    func currentMaster() -> (host: String, port: Int)? {
        var failures: [String] = []
        if let cached {
            if let address = try? ask(cached, failures: &failures) { return address }
            self.cached = nil
            return nil
        }
        guard !sentinel.sentinels.isEmpty else { return nil }
        let address = sentinel.sentinels[nextIndex % sentinel.sentinels.count]
        nextIndex += 1
        guard let connection = try? RedisConnection(url: RedisURL(host: address.host, port: address.port, password: sentinel.password),
                                                    connectTimeout: Self.checkTimeout, readTimeout: Self.checkTimeout),
              let master = try? ask(connection, failures: &failures) else { return nil }
        cached = connection
        return master
    }

    /// One sentinel's answer; nil (with the reason in `failures`) when it has none.
    private func ask(_ connection: RedisConnection, failures: inout [String]) throws(RedisError) -> (host: String, port: Int)? {
        let reply = try connection.command("SENTINEL", "get-master-addr-by-name", sentinel.masterName)
        if let elements = reply.array, elements.count == 2, let host = elements[0].text,
           let port = elements[1].text.flatMap({ Int($0) }), (1...65535).contains(port) {
            return (host, port)
        }
        switch reply {
        case .null: failures.append("\(connection.address): does not monitor a master named '\(sentinel.masterName)'")
        case .error(let message): failures.append("\(connection.address): \(message)")
        default: failures.append("\(connection.address): unexpected reply \(reply)")
        }
        return nil
    }

    /// Checks with `ROLE` that `connection` is a master: sentinels keep naming the old master
    /// for a moment during a failover, and that node is about to become a replica.
    /// A server that refuses ROLE (renamed command) is trusted.
    func verifyMaster(_ connection: RedisConnection) throws(RedisError) {
        let reply = try connection.command("ROLE")
        guard let role = reply.array?.first?.text, role != "master" else { return }
        throw RedisError(call: "ROLE(\(connection.address))",
                         message: "the sentinels named \(connection.address) as master '\(sentinel.masterName)' but it is a \(role); asking again",
                         isConnectionError: true, redirect: .notMaster)
    }
}
