import Foundation
import Synchronization
import TestSupport
import WebhookCore
import WebhookRedis
import XCTest

/// Redis Cluster with real processes: three masters made with `redis-cli --cluster create`.
/// Workers and CLI commands are pointed at a node that does not own the prefix's slot, so every
/// call works only by following MOVED.
final class ClusterTests: XCTestCase {
    private var cluster: RedisClusterGroup!
    /// The node the clients are configured with; it does not serve the queue's slot.
    private var entry: RedisServer!
    /// The node that serves the queue's slot.
    private var owner: RedisServer!
    private var workers: [WorkerProcess] = []
    private var receivers: [HTTPReceiver] = []
    private let prefix = "{t\(UInt32.random(in: 0...UInt32.max))}"

    override func setUp() async throws {
        cluster = try RedisClusterGroup()
        owner = try cluster.owner(of: "\(prefix):queue")
        entry = try cluster.nonOwner(of: "\(prefix):queue")
    }

    override func tearDown() async throws {
        for worker in workers where worker.isRunning { worker.kill() }
        for receiver in receivers { await receiver.stop() }
        workers = []
        receivers = []
        entry = nil
        owner = nil
        cluster = nil
    }

    private func environment(_ extra: [String: String] = [:]) -> [String: String] {
        var env = [
            "REDIS_URL": "redis://127.0.0.1:\(entry.port)/0",
            "REDIS_KEY_PREFIX": prefix,
            "JOB_SEND_NOTIFICATIONS_INTERVAL": "1",
            "WEBHOOK_BREAKER_FAILURES": "1000000",  // retry tests fail many deliveries in a row
            "LOG_LEVEL": "debug",
        ]
        env.merge(extra) { $1 }
        return env
    }

    private func startWorker(_ extra: [String: String]) throws -> WorkerProcess {
        let worker = try WorkerProcess.run(environment(extra))
        workers.append(worker)
        return worker
    }

    /// The bridge's write script (events, a dead letter and its marker in one step, the events
    /// written straight from the request body) reaches the slot's owner through MOVED.
    func testBridgeWritesThroughMoved() async throws {
        // Retried on another port if the one found free is taken before the bridge binds it.
        let (bridge, base) = try await launchOnFreePort("bridge", readyPath: "/readyz") { port in
            let bridge = try WorkerProcess(["ingest", "--listen", "127.0.0.1:\(port)"],
                                           environment: environment(["INGEST_SECRET": "s", "WEBHOOK_MAX_PAYLOAD_BYTES": "100"]))
            workers.append(bridge)
            return bridge
        }
        let big = #"{"username":"big","action":"a","pad":""# + String(repeating: "x", count: 200) + #""}"#
        let body = #"[{"username":"u1","action":"a"},"# + big + #",{"username":"u2","action":"a"}]"#
        let answer = try await HTTPCall.request("POST", "\(base)/events", body: Array(body.utf8),
                                                headers: ["x-webhook-secret": "s"])
        XCTAssertEqual(answer.status, 202, answer.text + bridge.log)
        XCTAssertEqual(answer.text, #"{"enqueued":2}"#)
        XCTAssertEqual(try owner.cli.lines(["LRANGE", "\(prefix):queue", "0", "-1"]),
                       [#"{"username":"u2","action":"a"}"#, #"{"username":"u1","action":"a"}"#])
        XCTAssertEqual(try owner.cli.int(["LLEN", "\(prefix):dead"]), 1)
        XCTAssertEqual(try owner.cli.lines(["KEYS", "\(prefix):ingest:*"]).count, 1)
    }

    private func receiver(_ behaviour: ReceiverBehaviour) async throws -> HTTPReceiver {
        let receiver = try await HTTPReceiver.start(behaviour: behaviour)
        receivers.append(receiver)
        return receiver
    }

    private static func username(_ request: RecordedRequest) -> String? {
        (try? JSONSerialization.jsonObject(with: Data(request.body)) as? [String: Any])?["username"] as? String
    }

    private func usernames(_ requests: [RecordedRequest]) -> Set<String> {
        Set(requests.compactMap(Self.username))
    }

    /// Pushes `count` events through a producer pointed at the entry node (it follows MOVED too).
    private func push(_ count: Int) throws {
        let producer = try EventProducer(url: entry.url, prefix: prefix)
        let now = Date().timeIntervalSince1970
        for start in stride(from: 0, to: count, by: 100) {
            try producer.enqueue(try (start..<min(count, start + 100)).map {
                try EventProducer.event(action: "user_created", username: "user-\($0)", now: now)
            })
        }
    }

    /// Reads a key's length on the node that owns it.
    private func ownerLength(_ type: String, _ key: String) throws -> Int {
        Int(try owner.redisCLI(type, "\(prefix):\(key)")) ?? -1
    }

    private func processingTotal() throws -> Int {
        let keys = try owner.redisCLI("KEYS", "\(prefix):processing:*").split(separator: "\n").map(String.init)
        return try keys.filter { !$0.isEmpty }.reduce(0) { $0 + (Int(try owner.redisCLI("LLEN", $1)) ?? 0) }
    }

    func testDeliveryAndRetriesThroughTheDelayedSetFromANodeThatDoesNotOwnTheSlot() async throws {
        XCTAssertThrowsError(try RedisConnection(url: entry.url).command("EXISTS", "\(prefix):queue")) { error in
            XCTAssertEqual((error as? RedisError)?.redirect, .moved(host: "127.0.0.1", port: owner.port), "the entry node redirects: \(error)")
        }
        let ok = try await receiver(.status(200))
        // Fails each event's first attempt, then accepts.
        let seen = Mutex<Set<String>>([])
        let flaky = try await receiver(.respond { request, _ in
            let first = seen.withLock { $0.insert(Self.username(request) ?? "").inserted }
            return ReceiverResponse(status: first ? 500 : 200)
        })
        try push(200)
        let worker = try startWorker([
            "WEBHOOK_ADDRESS": "\(ok.url),\(flaky.url)",
            "NUMBER_OF_RECURRENT_NOTIFICATIONS": "2", "RECURRENT_NOTIFICATIONS_TIMEOUT": "1",
        ])
        let retried = try await eventuallyAsync(timeout: 60, interval: 0.1) {
            self.usernames(ok.requests).count == 200 && flaky.requests.count >= 400
        }
        XCTAssertTrue(retried, "ok: \(usernames(ok.requests).count), flaky: \(flaky.requests.count); log:\n\(worker.log.suffix(3000))")
        var arrivals: [String: [Double]] = [:]
        for request in flaky.requests { arrivals[Self.username(request) ?? "", default: []].append(request.arrival) }
        XCTAssertEqual(arrivals.count, 200)
        for (user, times) in arrivals {
            XCTAssertEqual(times.count, 2, user)
            XCTAssertGreaterThanOrEqual((times.last ?? 0) - (times.first ?? 0), 0.9, "\(user): retried after the delay, from the delayed set")
        }
        let drained = try await eventuallyAsync(timeout: 20, interval: 0.1) {
            try self.ownerLength("LLEN", "queue") == 0 && self.ownerLength("ZCARD", "delayed") == 0 && self.processingTotal() == 0
        }
        XCTAssertTrue(drained, "queue, delayed set and processing list drained on the owning node")
        XCTAssertEqual(try ownerLength("LLEN", "dead"), 0)

        let status = try await WorkerProcess.complete(["status"], environment: environment())
        XCTAssertEqual(status.status, 0, status.stdout + status.stderr)
        // The attempt log is written with the settles, in the prefix's slot, and read through
        // the entry node: one event's three attempts (ok; flaky's failure and retry).
        let log = try await WorkerProcess.complete(["log", "--user", "user-7"], environment: environment())
        let output = log.stdout + log.stderr
        XCTAssertEqual(log.status, 0, output)
        let lines = output.split(separator: "\n").filter { $0.contains("  user-7  ") }
        XCTAssertEqual(lines.filter { $0.contains("  delivered  ") }.count, 2, output)
        XCTAssertEqual(lines.filter { $0.contains("  retry  ") && $0.contains("  500  ") }.count, 1, output)
        worker.terminate()
        let exitStatus = await worker.exit(timeout: 15)
        XCTAssertEqual(exitStatus, 0, worker.log.suffix(3000).description)
    }

    func testKill9WhileHoldingEventsThenASecondWorkerDeliversThem() async throws {
        let slow = try await receiver(.respond { _, _ in ReceiverResponse(status: 200, delay: 0.05) })
        let env = ["WEBHOOK_ADDRESS": slow.url, "WEBHOOK_TIMEOUT": "2", "WEBHOOK_LEASE": "4", "WEBHOOK_MAX_INFLIGHT": "4096"]
        try push(2000)
        let first = try startWorker(env)
        _ = try await slow.waitForRequests(count: 100, timeout: 30)
        XCTAssertGreaterThan(try processingTotal(), 500, "the first worker holds events when killed")
        first.kill()
        XCTAssertLessThan(usernames(slow.requests).count, 2000)

        let second = try startWorker(env)
        let delivered = try await eventuallyAsync(timeout: 90, interval: 0.2) { self.usernames(slow.requests).count == 2000 }
        XCTAssertTrue(delivered, "every event delivered after the kill; got \(usernames(slow.requests).count); log:\n\(second.log.suffix(3000))")
        let drained = try await eventuallyAsync(timeout: 20, interval: 0.1) { try self.processingTotal() == 0 && self.ownerLength("LLEN", "queue") == 0 }
        XCTAssertTrue(drained)
        XCTAssertTrue(second.log.contains("requeued"), "the second worker reaped the first's holdings")
        second.terminate()
        let exitStatus = await second.exit(timeout: 15)
        XCTAssertEqual(exitStatus, 0, second.log.suffix(3000).description)
    }

    func testAskAndTryAgainDuringASlotMigration() throws {
        let key = "\(prefix):queue"
        let slot = try owner.redisCLI("CLUSTER", "KEYSLOT", key)
        let target = cluster.nodes.first { $0.port != owner.port }!
        // The slot starts moving from owner to target; the (empty) slot's keys are not on the
        // owner, so it answers -ASK for them.
        XCTAssertEqual(try target.redisCLI("CLUSTER", "SETSLOT", slot, "IMPORTING", try owner.redisCLI("CLUSTER", "MYID")), "OK")
        XCTAssertEqual(try owner.redisCLI("CLUSTER", "SETSLOT", slot, "MIGRATING", try target.redisCLI("CLUSTER", "MYID")), "OK")

        let producer = try EventProducer(url: entry.url, prefix: prefix)
        try producer.enqueue([Array(#"{"action":"user_created","username":"asked"}"#.utf8)])
        XCTAssertEqual(try target.redisCLI("CLUSTER", "COUNTKEYSINSLOT", slot), "1", "the LPUSH went to the importing node")
        XCTAssertEqual(try owner.redisCLI("CLUSTER", "COUNTKEYSINSLOT", slot), "0")

        // A script over several keys, only some of them moved yet, gets -TRYAGAIN until the
        // migration ends: retried briefly, then reported as a connection error for the owner's backoff.
        let queue = RedisQueue(url: entry.url, prefix: prefix, workerID: "asking-worker")
        XCTAssertThrowsError(try queue.take(max: 10, maxBytes: 1 << 20)) { error in
            XCTAssertEqual((error as? RedisError)?.redirect, .busy, "\(error)")
            XCTAssertEqual((error as? RedisError)?.isConnectionError, true, "\(error)")
        }
        // The migration ends: every node now sends the slot's commands to the target (MOVED).
        let targetID = try target.redisCLI("CLUSTER", "MYID")
        for node in cluster.nodes { XCTAssertEqual(try node.redisCLI("CLUSTER", "SETSLOT", slot, "NODE", targetID), "OK") }
        XCTAssertEqual(try queue.heartbeat(join: true, leaseMillis: 30_000), .alive)
        let taken = try queue.take(max: 10, maxBytes: 1 << 20)
        XCTAssertEqual(taken.count, 1)
        XCTAssertEqual(try target.redisCLI("LLEN", "\(prefix):processing:asking-worker"), "1")
    }

    func testAPrefixWithoutHashTagStopsEveryCommandAtStartUp() throws {
        for arguments in [["run"], ["status"], ["enqueue", "--action", "user_created", "--username", "u"], ["dead", "list"]] {
            let result = try WorkerProcess.command(arguments, environment: environment(["REDIS_KEY_PREFIX": "plain"]), timeout: 20)
            XCTAssertNotEqual(result.status, 0, "\(arguments): \(result.output)")
            XCTAssertTrue(result.output.contains("REDIS_KEY_PREFIX"), "\(arguments): \(result.output)")
            XCTAssertTrue(result.output.contains("{plain}"), "the message shows the fix: \(result.output)")
        }
        for node in cluster.nodes {
            XCTAssertEqual(try node.redisCLI("DBSIZE"), "0", "nothing was written")
        }
    }
}
