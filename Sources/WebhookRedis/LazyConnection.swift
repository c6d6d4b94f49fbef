import Foundation
import WebhookCore

/// A connection opened on first use and dropped after a connection error, so the next call
/// reconnects. The owner decides about backoff and retries. Not thread-safe: one owner at a time.
///
/// It also hides Redis' topologies from the owner:
/// - Sentinel (`url.sentinel` set): each connect asks the sentinels for the master and checks its
///   `ROLE`; after a connection error or a `READONLY` reply (a connection error here) the next
///   call asks again. While connected it asks at most once per `sentinelCheckInterval` whether
///   the sentinels still name the same master, because after a failover the old master keeps
///   accepting writes (which the new one never sees) until Sentinel demotes it, seconds later.
/// - Cluster: a `-MOVED` reply reconnects to the named node and runs `body` again (that node is
///   kept until a connection error sends us back to the configured one); `-ASK` runs `body` once
///   on the named node after `ASKING`; `-TRYAGAIN` and `-CLUSTERDOWN` are retried after short
///   pauses, then reported as a connection error so the owner's backoff takes over.
///
/// Running `body` again is safe because a redirected command did not run. With every key in one
/// slot (hash-tagged prefix) all commands of one `body` are redirected alike.
final class LazyConnection {
    /// Redirects followed for one call before giving up (a cluster whose nodes disagree).
    static let maxRedirects = 5
    /// Pauses before each retry of a `TRYAGAIN`/`CLUSTERDOWN` reply (seconds; about 1.5 s in all).
    static let busyDelays: [Double] = [0.05, 0.1, 0.2, 0.4, 0.8]
    /// How often a connected Sentinel client checks that its master is still the master, and
    /// how long it waits after a check that no sentinel answered.
    static let sentinelCheckInterval: Duration = .seconds(1)
    static let sentinelRecheckAfterFailure: Duration = .seconds(5)

    private let url: RedisURL
    private let connectTimeout: Double
    /// Seconds one reply may take (`RedisConnection`'s read timeout).
    private let readTimeout: Double
    private var connection: RedisConnection?
    /// The cluster node a `-MOVED` pointed at; nil means the configured address (or the master
    /// the sentinels name).
    private var node: (host: String, port: Int)?
    /// Set when the URL names sentinels.
    private let sentinel: SentinelResolver?
    /// The master the sentinels named for the open connection, and when they last confirmed it.
    private var master: (host: String, port: Int)?
    private var masterConfirmed = ContinuousClock.now
    /// The server the open (or last) connection reached: its `run_id`, which changes when
    /// another server answers (a Sentinel failover, a `MOVED` to another node) and when Redis
    /// restarts. A server that will not say (INFO refused) gets a fresh token per connection, so
    /// every reconnect to it counts as another server. Owners that hold state mirrored in Redis
    /// (a worker's processing list) compare it to know when to reconcile.
    private(set) var serverID: String?

    init(url: RedisURL, connection: RedisConnection? = nil, connectTimeout: Double = 5,
         readTimeout: Double = RedisConnection.defaultReadTimeout) {
        self.url = url
        self.connection = connection
        self.connectTimeout = connectTimeout
        self.readTimeout = readTimeout
        self.sentinel = url.sentinel.map(SentinelResolver.init)
    }

    /// Connects now if not connected, so a wrong address or password shows up at once.
    func open() throws(RedisError) {
        _ = try connected()
    }

    /// Runs `body` on the connection, opening it first if needed, following redirects.
    func run<T>(_ body: (RedisConnection) throws(RedisError) -> T) throws(RedisError) -> T {
        var redirects = 0
        var busyRetries = 0
        var askTarget: (host: String, port: Int)?
        while true {
            let current: RedisConnection
            if let askTarget {
                current = try open(askTarget)
                current.asking = true
            } else {
                current = try connected()
            }
            do throws(RedisError) {
                return try body(current)
            } catch {
                switch error.redirect {
                case .moved(let host, let port) where redirects < Self.maxRedirects:
                    redirects += 1
                    askTarget = nil
                    node = (host, port)
                    connection = nil
                case .ask(let host, let port) where redirects < Self.maxRedirects:
                    redirects += 1
                    askTarget = (host, port)
                case .busy where busyRetries < Self.busyDelays.count:
                    Thread.sleep(forTimeInterval: Self.busyDelays[busyRetries])
                    busyRetries += 1
                case .busy:
                    drop()
                    throw RedisError(call: error.call, message: "\(error.message) (still after \(busyRetries) retries)",
                                     isConnectionError: true, redirect: .busy)
                case .moved, .ask:
                    drop()
                    throw RedisError(call: error.call, message: "\(error.message) (after \(redirects) redirects)",
                                     isConnectionError: true, redirect: error.redirect)
                case .notMaster, nil:
                    if error.isConnectionError && askTarget == nil { drop() }
                    throw error
                }
            }
        }
    }

    /// Forgets the connection and any redirect, so the next call starts from the configuration.
    private func drop() {
        connection = nil
        node = nil
    }

    /// The open connection, or a new one to the redirect target, the sentinels' master or the
    /// configured address.
    private func connected() throws(RedisError) -> RedisConnection {
        if let connection {
            guard let sentinel, let master, ContinuousClock.now - masterConfirmed >= Self.sentinelCheckInterval else { return connection }
            masterConfirmed = .now
            // Sentinels that cannot be reached now do not break a working connection.
            guard let named = sentinel.currentMaster() else {
                masterConfirmed = .now + Self.sentinelRecheckAfterFailure - Self.sentinelCheckInterval
                return connection
            }
            guard named != master else { return connection }
            self.connection = nil
        }
        do throws(RedisError) {
            let current: RedisConnection
            if let node {
                current = try open(node)
            } else if let sentinel {
                let address = try sentinel.master()
                current = try open(address)
                try sentinel.verifyMaster(current)
                master = address
                masterConfirmed = .now
            } else {
                current = try open((url.host, url.port))
            }
            connection = current
            noteServer(of: current)
            return current
        } catch {
            // A node that MOVED sent us to may be gone (failed over): start again from the
            // configured address next time.
            node = nil
            throw error
        }
    }

    /// Records which server `connection` reached (see `serverID`).
    private func noteServer(of connection: RedisConnection) {
        var id: String?
        if let info = (try? connection.command("INFO", "server"))?.text,
           let line = info.split(whereSeparator: \.isNewline).first(where: { $0.hasPrefix("run_id:") }) {
            id = String(line.dropFirst("run_id:".count))
        }
        serverID = id ?? "unknown-\(RandomToken.make(12))"
    }

    /// A connection to `address` with the URL's credentials and database.
    private func open(_ address: (host: String, port: Int)) throws(RedisError) -> RedisConnection {
        var target = url
        target.host = address.host
        target.port = address.port
        target.sentinel = nil
        return try RedisConnection(url: target, connectTimeout: connectTimeout, readTimeout: readTimeout)
    }
}
