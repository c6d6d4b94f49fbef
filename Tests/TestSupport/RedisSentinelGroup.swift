import Foundation
import WebhookCore
import WebhookRedis

/// A real Sentinel setup for tests: a master, one replica and `sentinelCount` sentinels
/// (`redis-server --sentinel`, quorum 2, one-second down-after), each on its own free port of
/// 127.0.0.1 with its own temporary directory. Everything is killed on `deinit`.
public final class RedisSentinelGroup: @unchecked Sendable {
    /// The name the sentinels monitor the master under.
    public let masterName = "mymaster"
    /// The data nodes' `requirepass` (also their `masterauth`).
    public let password: String?
    /// The sentinels' `requirepass`.
    public let sentinelPassword: String?
    /// The two data nodes: at start `nodes[0]` is the master and `nodes[1]` its replica.
    public let nodes: [RedisServer]
    public private(set) var sentinelPorts: [Int] = []
    private var sentinels: [Process] = []
    private let directory: URL

    /// Starts master, replica and sentinels and waits until the sentinels know the replica and
    /// each other, so a failover can be asked for at once.
    public init(password: String? = nil, sentinelPassword: String? = nil, sentinelCount: Int = 3) throws {
        self.password = password
        self.sentinelPassword = sentinelPassword
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("sentinels-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let auth = password.map { ["--masterauth", $0] } ?? []
        let master = try RedisServer(password: password, extraArguments: auth)
        let replica = try RedisServer(password: password, extraArguments: auth + ["--replicaof", "127.0.0.1", String(master.port)])
        nodes = [master, replica]
        guard eventually(timeout: 20, interval: 0.1, { (try? replica.redisCLI("INFO", "replication"))?.contains("master_link_status:up") == true }) else {
            throw RedisServerError(message: "the replica did not sync with the master")
        }
        for index in 0..<sentinelCount {
            try startSentinel(index: index, masterPort: master.port)
        }
        let ready = eventually(timeout: 30, interval: 0.1) {
            sentinelPorts.indices.allSatisfy { index in
                guard let state = try? masterState(sentinel: index),
                      let replicas = try? fields(sentinel: index, "SENTINEL", "REPLICAS", masterName) else { return false }
                return state["num-other-sentinels"] == String(sentinelCount - 1)
                    && replicas.contains { $0["flags"] == "slave" && $0["master-link-status"] == "ok" }
            }
        }
        guard ready else { throw RedisServerError(message: "the sentinels did not discover the replica and each other within 30 s") }
    }

    deinit {
        for process in sentinels where process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        try? FileManager.default.removeItem(at: directory)
    }

    /// REDIS_SENTINELS: `127.0.0.1:<port>,...`.
    public var sentinelsVariable: String {
        sentinelPorts.map { "127.0.0.1:\($0)" }.joined(separator: ",")
    }

    /// A `RedisURL` that finds the master through the sentinels; its host and port lead nowhere,
    /// so a client that ignored the sentinels would fail.
    public var url: RedisURL {
        RedisURL(host: "127.0.0.1", port: 1, password: password,
                 sentinel: RedisSentinel(sentinels: sentinelPorts.map { HostPort(host: "127.0.0.1", port: $0) },
                                         masterName: masterName, password: sentinelPassword))
    }

    /// The data node the given sentinel currently names as master.
    public func master(sentinel index: Int = 0) throws -> RedisServer {
        let reply = try connection(sentinel: index).command("SENTINEL", "get-master-addr-by-name", masterName)
        guard let port = reply.array?.last?.text.flatMap({ Int($0) }), let node = nodes.first(where: { $0.port == port }) else {
            throw RedisServerError(message: "sentinel \(index) names no known master: \(reply)")
        }
        return node
    }

    /// `SENTINEL FAILOVER` on sentinel 0, then waits until every sentinel names the new master and
    /// that node answers ROLE as master. Returns (old master, new master).
    @discardableResult
    public func failover(timeout: Double = 30) throws -> (old: RedisServer, new: RedisServer) {
        let old = try master()
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            let reply = try connection(sentinel: 0).command("SENTINEL", "FAILOVER", masterName)
            if reply.errorMessage == nil { break }
            guard Date() < deadline else { throw RedisServerError(message: "SENTINEL FAILOVER refused: \(reply)") }
            Thread.sleep(forTimeInterval: 0.2)
        }
        var new: RedisServer?
        let done = eventually(timeout: max(1, deadline.timeIntervalSinceNow), interval: 0.1) {
            let named = sentinelPorts.indices.compactMap { try? master(sentinel: $0).port }
            guard named.count == sentinelPorts.count, Set(named).count == 1, named[0] != old.port,
                  let node = nodes.first(where: { $0.port == named[0] }),
                  (try? node.redisCLI("ROLE").hasPrefix("master")) == true else { return false }
            new = node
            return true
        }
        guard done, let new else { throw RedisServerError(message: "the failover did not complete within \(timeout) s") }
        return (old, new)
    }

    /// A connection to one sentinel (with the sentinels' password).
    public func connection(sentinel index: Int) throws -> RedisConnection {
        try RedisConnection(url: RedisURL(host: "127.0.0.1", port: sentinelPorts[index], password: sentinelPassword))
    }

    // MARK: Internals

    private func masterState(sentinel index: Int) throws -> [String: String] {
        let reply = try connection(sentinel: index).command("SENTINEL", "MASTER", masterName)
        return Self.pairs(reply)
    }

    private func fields(sentinel index: Int, _ args: String...) throws -> [[String: String]] {
        let reply = try connection(sentinel: index).command(args.map { Array($0.utf8) })
        return (reply.array ?? []).map(Self.pairs)
    }

    /// A flat `[field, value, ...]` array reply as a dictionary.
    private static func pairs(_ reply: RedisReply) -> [String: String] {
        let items = (reply.array ?? []).map { $0.text ?? "" }
        var result: [String: String] = [:]
        for index in stride(from: 0, to: items.count - 1, by: 2) { result[items[index]] = items[index + 1] }
        return result
    }

    private func startSentinel(index: Int, masterPort: Int) throws {
        var lastError: Error?
        for _ in 0..<5 {
            let port = try RedisServer.freePort()
            let config = directory.appendingPathComponent("sentinel-\(index).conf")
            var lines = [
                "port \(port)", "bind 127.0.0.1", "daemonize no", "protected-mode no",
                "dir \(directory.path)", "logfile \(directory.appendingPathComponent("sentinel-\(index).log").path)",
                "sentinel monitor \(masterName) 127.0.0.1 \(masterPort) 2",
                "sentinel down-after-milliseconds \(masterName) 1000",
                "sentinel failover-timeout \(masterName) 4000",
                "sentinel parallel-syncs \(masterName) 1",
            ]
            if let password { lines.append("sentinel auth-pass \(masterName) \(password)") }
            if let sentinelPassword { lines += ["requirepass \(sentinelPassword)", "sentinel sentinel-pass \(sentinelPassword)"] }
            try (lines.joined(separator: "\n") + "\n").write(to: config, atomically: true, encoding: .utf8)
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = ["redis-server", config.path, "--sentinel"]
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            sentinelPorts.append(port)
            sentinels.append(process)
            if eventually(timeout: 10, interval: 0.1, { process.isRunning && (try? connection(sentinel: index).command("PING"))?.text == "PONG" }) {
                return
            }
            lastError = RedisServerError(message: "sentinel \(index) did not answer PING on port \(port)")
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
            process.waitUntilExit()
            sentinelPorts.removeLast()
            sentinels.removeLast()
        }
        throw lastError ?? RedisServerError(message: "sentinel \(index) did not start")
    }
}
