import Foundation
import TestSupport
import WebhookRedis
import XCTest

/// The ordered-delivery checker on the other Redis topologies, with smaller counts: a Sentinel
/// failover mid-run, and a three-master Redis Cluster entered through a node that does not own
/// the queue's slot (with a `kill -9` mid-run).
final class OrderedTopologyTests: XCTestCase {
    private var workers: [WorkerProcess] = []
    private var fixtures: [FixtureProcess] = []
    private let prefix = "{t\(UInt32.random(in: 0...UInt32.max))}"

    override func tearDown() async throws {
        for worker in workers where worker.isRunning { worker.kill() }
        for fixture in fixtures { fixture.stop() }
        workers = []
        fixtures = []
    }

    private func start(_ env: [String: String]) throws -> WorkerProcess {
        let worker = try WorkerProcess.run(env)
        workers.append(worker)
        return worker
    }

    /// A receiver failing 30 % of requests, an ordered endpoint on it, and the environment.
    private func orderedSetup(_ redis: [String: String]) throws -> (FixtureProcess, [String: String]) {
        let receiver = try OrderedTesting.receiver(seed: Int.random(in: 1...1_000_000), failRate: 0.3)
        fixtures.append(receiver)
        let env = try OrderedTesting.environment("""
            endpoints:
              - name: ordered
                url: http://127.0.0.1:\(receiver.port)/hook
                ordering: per-key
            """).merging(redis) { $1 }.merging(["REDIS_KEY_PREFIX": prefix, "JOB_SEND_NOTIFICATIONS_INTERVAL": "1",
                                                 "WEBHOOK_BREAKER_FAILURES": "1000000"]) { $1 }
        return (receiver, env)
    }

    private func finish(_ receiver: FixtureProcess, users: [String], perUser: Int) async throws {
        try await eventually("every event delivered", timeout: 60, { try await OrderedTesting.deliveredCount(receiver) },
                             until: { $0 == users.count * perUser })
        let received = try await OrderedTesting.records(receiver)
        XCTAssertEqual(OrderedTesting.check(received, users: users, perUser: perUser), [])
        for worker in workers where worker.isRunning {
            worker.terminate()
            let status = await worker.exit(timeout: 20)
            XCTAssertEqual(status, 0, worker.log.suffix(2000).description)
        }
    }

    func testCheckerAcrossASentinelFailover() async throws {
        let group = try RedisSentinelGroup()
        let (receiver, env) = try orderedSetup(["REDIS_URL": "redis://127.0.0.1:1/0", "REDIS_SENTINELS": group.sentinelsVariable,
                                                "REDIS_SENTINEL_MASTER": group.masterName])
        let users = (0..<40).map { "u\($0)" }, perUser = 6
        try OrderedTesting.enqueue(try EventProducer(url: group.url, prefix: prefix), users: users, perUser: perUser)
        // Replication is asynchronous: an LPUSH the replica has not seen is lost by a failover.
        XCTAssertEqual(try group.master().redisCLI("WAIT", "1", "5000"), "1")
        for _ in 0..<2 { _ = try start(env) }
        try await eventually("a third delivered", timeout: 30, { try await OrderedTesting.deliveredCount(receiver) },
                             until: { $0 >= users.count * perUser / 3 })
        try group.failover()
        let deliveredAtFailover = try await OrderedTesting.deliveredCount(receiver)
        XCTAssertLessThan(deliveredAtFailover, users.count * perUser, "the failover happened mid-run")
        try await finish(receiver, users: users, perUser: perUser)
        _ = group
    }

    func testCheckerOnAThreeMasterCluster() async throws {
        let cluster = try RedisClusterGroup()
        let entry = try cluster.nonOwner(of: "\(prefix):queue")
        let owner = try cluster.owner(of: "\(prefix):queue")
        let (receiver, env) = try orderedSetup(["REDIS_URL": "redis://127.0.0.1:\(entry.port)/0"])
        let users = (0..<60).map { "u\($0)" }, perUser = 6
        try OrderedTesting.enqueue(try EventProducer(url: owner.url, prefix: prefix), users: users, perUser: perUser)
        let first = try start(env)
        _ = try start(env)
        try await eventually("a third delivered", timeout: 30, { try await OrderedTesting.deliveredCount(receiver) },
                             until: { $0 >= users.count * perUser / 3 })
        first.kill()
        _ = try start(env)
        try await finish(receiver, users: users, perUser: perUser)
        XCTAssertEqual(try owner.cli.lines(["KEYS", "\(prefix):ordered:*"]).filter { !$0.isEmpty }.sorted(),
                       try owner.cli.lines(["KEYS", "\(prefix):ordered:*:seq"]).filter { !$0.isEmpty }.sorted(),
                       "idle keys leave nothing but the sequence counter, on the queue's node")
        _ = cluster
    }
}
