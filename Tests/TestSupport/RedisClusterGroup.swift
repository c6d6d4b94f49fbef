import Foundation
import WebhookCore
import WebhookRedis

/// A real Redis Cluster for tests: `masters` redis-server processes in cluster mode (each on a
/// free port of 127.0.0.1 with its own directory and cluster bus port), joined with
/// `redis-cli --cluster create ... --cluster-replicas 0`. Stopped on `deinit` (by `RedisServer`).
public final class RedisClusterGroup: @unchecked Sendable {
    public let nodes: [RedisServer]

    /// Starts the nodes, creates the cluster and waits until every node reports `cluster_state:ok`.
    public init(masters: Int = 3) throws {
        var nodes: [RedisServer] = []
        for _ in 0..<masters {
            // The bus port defaults to port + 10000, which may not exist for a high free port. A
            // bus port found free can be taken before the node binds it (RedisServer retries its
            // own port, not this one), so a node that does not start is tried with another.
            var node: RedisServer?
            var lastError: Error?
            for _ in 0..<3 where node == nil {
                do {
                    node = try RedisServer(extraArguments: [
                        "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
                        "--cluster-node-timeout", "2000", "--cluster-port", String(try RedisServer.freePort()),
                    ])
                } catch {
                    lastError = error
                }
            }
            guard let node else { throw lastError ?? RedisServerError(message: "no cluster node started") }
            nodes.append(node)
        }
        self.nodes = nodes
        let output = try Self.run(["--cluster", "create"] + nodes.map { "127.0.0.1:\($0.port)" }
                                  + ["--cluster-replicas", "0", "--cluster-yes"])
        let ok = eventually(timeout: 30, interval: 0.1) {
            nodes.allSatisfy { (try? $0.redisCLI("CLUSTER", "INFO"))?.contains("cluster_state:ok") == true }
        }
        guard ok else { throw RedisServerError(message: "the cluster did not become ok within 30 s:\n\(output)") }
    }

    /// The node that serves `key`'s slot.
    public func owner(of key: String) throws -> RedisServer {
        let connection = try RedisConnection(url: nodes[0].url)
        guard let slot = try connection.command("CLUSTER", "KEYSLOT", key).integer else {
            throw RedisServerError(message: "CLUSTER KEYSLOT failed")
        }
        for range in try connection.command("CLUSTER", "SLOTS").array ?? [] {
            guard let parts = range.array, parts.count >= 3, let first = parts[0].integer, let last = parts[1].integer,
                  (first...last).contains(slot), let port = parts[2].array?[1].integer,
                  let node = nodes.first(where: { $0.port == port }) else { continue }
            return node
        }
        throw RedisServerError(message: "no node serves slot \(slot)")
    }

    /// A node that does not serve `key`'s slot: a client pointed there must follow MOVED.
    public func nonOwner(of key: String) throws -> RedisServer {
        let owner = try owner(of: key)
        return nodes.first { $0.port != owner.port }!
    }

    private static func run(_ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["redis-cli"] + arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let text = String(decoding: data, as: UTF8.self)
        guard process.terminationStatus == 0 else {
            throw RedisServerError(message: "redis-cli \(arguments.joined(separator: " ")) failed:\n\(text)")
        }
        return text
    }
}
