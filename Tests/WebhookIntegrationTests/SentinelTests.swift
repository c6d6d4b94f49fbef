import Foundation
import TestSupport
import WebhookCore
import WebhookRedis
import XCTest

/// Redis Sentinel with real processes: a master, a replica and three sentinels; workers and CLI
/// commands find the master through REDIS_SENTINELS and find it again after a failover.
final class SentinelTests: XCTestCase {
    private var group: RedisSentinelGroup!
    private var workers: [WorkerProcess] = []
    private var receivers: [HTTPReceiver] = []
    private let prefix = "sentinel\(UInt32.random(in: 0...UInt32.max))"
    private let masterPassword = "master-secret"
    private let sentinelPassword = "sentinel-secret"

    override func setUp() async throws {
        group = try RedisSentinelGroup(password: masterPassword, sentinelPassword: sentinelPassword)
    }

    override func tearDown() async throws {
        for worker in workers where worker.isRunning { worker.kill() }
        for receiver in receivers { await receiver.stop() }
        workers = []
        receivers = []
        group = nil
    }

    /// REDIS_URL points at a port where nothing listens: only the sentinels can lead to Redis.
    private func environment(_ extra: [String: String] = [:]) -> [String: String] {
        var env = [
            "REDIS_URL": "redis://:\(masterPassword)@127.0.0.1:1/0",
            "REDIS_SENTINELS": group.sentinelsVariable,
            "REDIS_SENTINEL_MASTER": group.masterName,
            "REDIS_SENTINEL_PASSWORD": sentinelPassword,
            "REDIS_KEY_PREFIX": prefix,
            "JOB_SEND_NOTIFICATIONS_INTERVAL": "1",
            "WEBHOOK_BREAKER_FAILURES": "1000000",  // retry tests fail many deliveries in a row
            "LOG_LEVEL": "debug",
        ]
        env.merge(extra) { $1 }
        return env
    }

    private func usernames(_ requests: [RecordedRequest]) -> Set<String> {
        Set(requests.compactMap { request in
            (try? JSONSerialization.jsonObject(with: Data(request.body)) as? [String: Any])?["username"] as? String
        })
    }

    /// Enqueues `count` events `user-0`... through the sentinels and waits until the replica has
    /// them: replication is asynchronous, and an LPUSH the replica has not seen is lost by a
    /// failover (a producer that needs the guarantee waits the same way).
    private func enqueueReplicated(_ count: Int) throws {
        let producer = try EventProducer(url: group.url, prefix: prefix)
        let now = Date().timeIntervalSince1970
        for start in stride(from: 0, to: count, by: 100) {
            try producer.enqueue(try (start..<min(start + 100, count)).map {
                try EventProducer.event(action: "user_created", username: "user-\($0)", now: now)
            })
        }
        XCTAssertEqual(try group.master().redisCLI("WAIT", "1", "5000"), "1")
    }

    func testFailoverMidRunDeliversEveryEventAndTheCLIFollowsTheNewMaster() async throws {
        let receiver = try await HTTPReceiver.start(behaviour: .respond { _, _ in ReceiverResponse(status: 200, delay: 0.05) })
        receivers.append(receiver)
        try enqueueReplicated(3000)
        let master = try group.master()

        let worker = try WorkerProcess.run(environment([
            "WEBHOOK_ADDRESS": receiver.url, "WEBHOOK_CONCURRENCY": "16", "WEBHOOK_TIMEOUT": "2", "WEBHOOK_LEASE": "4",
        ]))
        workers.append(worker)
        _ = try await receiver.waitForRequests(count: 300, timeout: 30)
        let (old, new) = try group.failover()
        let deliveredAtFailover = usernames(receiver.requests).count
        XCTAssertLessThan(deliveredAtFailover, 3000, "the failover happened mid-run")
        XCTAssertNotEqual(old.port, new.port)
        XCTAssertEqual(new.port, master.port == group.nodes[0].port ? group.nodes[1].port : group.nodes[0].port)

        let delivered = try await eventuallyAsync(timeout: 90, interval: 0.2) { self.usernames(receiver.requests).count == 3000 }
        XCTAssertTrue(delivered, "every event delivered after the failover; got \(usernames(receiver.requests).count); log:\n\(worker.log.suffix(3000))")
        XCTAssertTrue(worker.isRunning, "the worker survived the failover")
        let demoted = try await eventuallyAsync(timeout: 20, interval: 0.1) { (try? old.redisCLI("ROLE"))?.hasPrefix("slave") == true }
        XCTAssertTrue(demoted, "the old master became a replica")

        // The CLI, started after the failover, finds the new master too.
        let status = try await WorkerProcess.complete(["status"], environment: environment())
        let statusOutput = status.stdout + status.stderr
        XCTAssertEqual(status.status, 0, statusOutput)
        let enqueue = try await WorkerProcess.complete(["enqueue", "--action", "user_created", "--username", "after-failover"],
                                                       environment: environment())
        XCTAssertEqual(enqueue.status, 0, enqueue.stdout + enqueue.stderr)
        let enqueuedDelivered = try await eventuallyAsync(timeout: 30, interval: 0.1) {
            self.usernames(receiver.requests).contains("after-failover")
        }
        XCTAssertTrue(enqueuedDelivered, "an event enqueued through the CLI after the failover is delivered")
        try await eventually("the attempt log, read through the sentinels, has its delivery", timeout: 10, interval: 0.2) {
            let log = try? await WorkerProcess.complete(["log", "--user", "after-failover", "--json"], environment: environment())
            return log?.status == 0 && log.map { $0.stdout + $0.stderr }?.contains(#""outcome":"delivered""#) == true
        }
        XCTAssertEqual(try new.redisCLI("LLEN", "\(prefix):queue"), "0")
        XCTAssertFalse(statusOutput.contains(masterPassword) || statusOutput.contains(sentinelPassword))
        XCTAssertFalse(worker.log.contains(masterPassword) || worker.log.contains(sentinelPassword), "no secret in the log")

        worker.terminate()
        let exitStatus = await worker.exit(timeout: 15)
        XCTAssertEqual(exitStatus, 0, worker.log.suffix(3000).description)
    }

    /// Two workers, a failover mid-run: the takes and settles that asynchronous replication
    /// lost leave the new master believing the workers hold items they finished (or never
    /// had). Each worker reconciles after reaching another server, so within seconds of the
    /// last delivery nothing is left in any processing list and the queue is empty.
    func testAFailoverWithTwoWorkersStrandsNothingInTheProcessingLists() async throws {
        let receiver = try await HTTPReceiver.start(behaviour: .respond { _, _ in ReceiverResponse(status: 200, delay: 0.05) })
        receivers.append(receiver)
        try enqueueReplicated(3000)
        for _ in 0..<2 {
            workers.append(try WorkerProcess.run(environment([
                "WEBHOOK_ADDRESS": receiver.url, "WEBHOOK_CONCURRENCY": "16", "WEBHOOK_TIMEOUT": "2", "WEBHOOK_LEASE": "30",
            ])))
        }
        _ = try await receiver.waitForRequests(count: 600, timeout: 30)
        let (_, new) = try group.failover()
        XCTAssertLessThan(usernames(receiver.requests).count, 3000, "the failover happened mid-run")
        let delivered = try await eventuallyAsync(timeout: 90, interval: 0.2) { self.usernames(receiver.requests).count == 3000 }
        XCTAssertTrue(delivered, "every event delivered; got \(usernames(receiver.requests).count)")
        func leftovers() throws -> [String: Int] {
            var left = ["queue": Int(try new.redisCLI("LLEN", "\(prefix):queue")) ?? -1]
            for key in try new.redisCLI("KEYS", "\(prefix):processing:*").split(separator: "\n") where !key.isEmpty {
                left[String(key)] = Int(try new.redisCLI("LLEN", String(key))) ?? -1
            }
            return left.filter { $0.value != 0 }
        }
        let clean = try await eventuallyAsync(timeout: 5, interval: 0.2) { (try? leftovers())?.isEmpty == true }
        XCTAssertTrue(clean, "left in Redis 5 s after the last delivery: \((try? leftovers()) ?? [:]); logs:\n"
                          + workers.map { $0.log.suffix(2000) }.joined(separator: "\n----\n"))
        XCTAssertTrue(workers.allSatisfy(\.isRunning), "the workers survived the failover")
        for worker in workers {
            worker.terminate()
            let exitStatus = await worker.exit(timeout: 15)
            XCTAssertEqual(exitStatus, 0, worker.log.suffix(3000).description)
        }
    }

    func testAConnectedClientMovesWhenTheSentinelsNameAnotherMaster() throws {
        let old = try group.master()
        let new = group.nodes.first { $0.port != old.port }!
        let producer = try EventProducer(url: group.url, prefix: prefix)
        try producer.enqueue([Array(#"{"action":"user_created","username":"before"}"#.utf8)])
        XCTAssertEqual(try old.redisCLI("LLEN", "\(prefix):queue"), "1")
        XCTAssertEqual(try old.redisCLI("WAIT", "1", "5000"), "1")

        // The sentinels now name the other node, while the old master keeps running as a master
        // and the producer's connection to it stays open: only asking the sentinels moves it.
        XCTAssertEqual(try new.redisCLI("REPLICAOF", "NO", "ONE"), "OK")
        for index in group.sentinelPorts.indices {
            let sentinel = try group.connection(sentinel: index)
            for command in [["SENTINEL", "REMOVE", group.masterName],
                            ["SENTINEL", "MONITOR", group.masterName, "127.0.0.1", String(new.port), "2"],
                            ["SENTINEL", "SET", group.masterName, "auth-pass", masterPassword]] {
                let reply = try sentinel.command(command.map { Array($0.utf8) })
                XCTAssertNil(reply.errorMessage, "\(command.prefix(2)): \(reply)")
            }
        }
        Thread.sleep(forTimeInterval: 1.2)
        try producer.enqueue([Array(#"{"action":"user_created","username":"after"}"#.utf8)])
        XCTAssertEqual(try new.redisCLI("LLEN", "\(prefix):queue"), "2", "the second event went to the master the sentinels name")
        XCTAssertEqual(try old.redisCLI("LLEN", "\(prefix):queue"), "1")
        XCTAssertTrue(try old.redisCLI("ROLE").hasPrefix("master"), "the old master was never demoted")
    }

    func testADeadSentinelIsSkippedAndAReplicaRefusesWritesAsAConnectionError() throws {
        var url = group.url
        let deadPort = try RedisServer.freePort()
        url.sentinel?.sentinels.insert(HostPort(host: "127.0.0.1", port: deadPort), at: 0)
        let producer = try EventProducer(url: url, prefix: prefix)
        try producer.enqueue([Array(#"{"action":"user_created","username":"u"}"#.utf8)])
        XCTAssertEqual(try group.master().redisCLI("LLEN", "\(prefix):queue"), "1")

        // Pointed straight at the replica (no sentinels), a write fails as a connection error:
        // the owner's reconnect and backoff apply, as for an unreachable server.
        let replica = group.nodes.first { $0.port != (try? group.master().port) }!
        let queue = RedisQueue(url: replica.url, prefix: prefix, workerID: "w")
        XCTAssertThrowsError(try queue.heartbeat(join: true, leaseMillis: 30_000)) { error in
            let redisError = error as? RedisError
            XCTAssertEqual(redisError?.isConnectionError, true, "\(error)")
            XCTAssertEqual(redisError?.redirect, .notMaster, "\(error)")
        }
        XCTAssertThrowsError(try EventProducer(url: replica.url, prefix: prefix).enqueue([Array("{}".utf8)])) { error in
            XCTAssertEqual((error as? RedisError)?.isConnectionError, true, "\(error)")
        }

        // A bad value stops any command at start-up, naming the variable.
        for (variable, value) in [("REDIS_SENTINELS", "127.0.0.1"), ("REDIS_SENTINEL_MASTER", "")] {
            let result = try WorkerProcess.command(["status"], environment: environment([variable: value]))
            XCTAssertNotEqual(result.status, 0, result.output)
            XCTAssertTrue(result.output.contains(variable), "\(variable): \(result.output)")
        }

        // Sentinels that do not know the master name: a connection-level error naming each one.
        var unknown = group.url
        unknown.sentinel?.masterName = "no-such-master"
        XCTAssertThrowsError(try EventProducer(url: unknown, prefix: prefix)) { error in
            let redisError = error as? RedisError
            XCTAssertEqual(redisError?.isConnectionError, true)
            XCTAssertTrue(redisError?.message.contains("no-such-master") == true, "\(error)")
            XCTAssertFalse("\(error)".contains(sentinelPassword))
        }
    }
}
