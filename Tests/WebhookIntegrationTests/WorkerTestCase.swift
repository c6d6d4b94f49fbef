import Crypto
import Foundation
import TestSupport
import WebhookCore
import WebhookRedis
import XCTest

/// Base for end-to-end tests: a real redis-server per test, `webhook-worker` processes started
/// as a user starts them, and helpers to read what receivers got.
class WorkerTestCase: XCTestCase {
    var redis: RedisServer!
    var prefix = "webhooks"
    private var workers: [WorkerProcess] = []
    private var receivers: [HTTPReceiver] = []

    override func setUp() async throws {
        redis = try RedisServer()
        prefix = "t\(UInt32.random(in: 0...UInt32.max))"
    }

    override func tearDown() async throws {
        for worker in workers where worker.isRunning { worker.kill() }
        for receiver in receivers { await receiver.stop() }
        workers = []
        receivers = []
        redis = nil
    }

    var redisURLString: String { "redis://127.0.0.1:\(redis.port)/0" }

    /// The environment of a worker in these tests: fast polls, short lease, debug logs, and a
    /// circuit breaker that does not open (tests of retries fail many deliveries in a row on
    /// purpose; the breaker's own tests set WEBHOOK_BREAKER_FAILURES).
    func environment(_ extra: [String: String]) -> [String: String] {
        var env = [
            "REDIS_URL": redisURLString,
            "REDIS_KEY_PREFIX": prefix,
            "JOB_SEND_NOTIFICATIONS_INTERVAL": "1",
            "WEBHOOK_BREAKER_FAILURES": "1000000",
            "LOG_LEVEL": "debug",
        ]
        env.merge(extra) { $1 }
        return env
    }

    func startWorker(_ extra: [String: String]) throws -> WorkerProcess {
        let worker = try WorkerProcess.run(environment(extra))
        workers.append(worker)
        return worker
    }

    /// Starts a worker serving /metrics and /healthz on a free port; returns it once /healthz
    /// answers 200. A port found free can be taken by another process before the worker binds
    /// it, so a worker that does not answer is killed and started again on another port: start
    /// it before pushing work.
    func startWorkerWithMetrics(_ extra: [String: String]) async throws -> (worker: WorkerProcess, base: String) {
        try await startServing("worker") { port in
            try startWorker(extra.merging(["WEBHOOK_METRICS_LISTEN": "127.0.0.1:\(port)"]) { $1 })
        }
    }

    /// Starts `webhook-worker ingest` (the bridge) on a free port; returns it once /healthz
    /// answers 200, retrying on another port like `startWorkerWithMetrics`.
    func startBridge(_ extra: [String: String]) async throws -> (bridge: WorkerProcess, base: String) {
        let (bridge, base) = try await startServing("bridge") { port in
            let bridge = try WorkerProcess(["ingest", "--listen", "127.0.0.1:\(port)"], environment: environment(extra))
            workers.append(bridge)
            return bridge
        }
        return (bridge, base)
    }

    /// Launches a process serving HTTP on a free port and returns it once /healthz answers 200;
    /// up to three ports, as another process may take a free port before ours binds it.
    private func startServing(_ what: String, _ launch: (Int) throws -> WorkerProcess) async throws
        -> (WorkerProcess, String) {
        try await launchOnFreePort(what, launch)
    }

    func receiver(_ behaviour: ReceiverBehaviour = .status(200)) async throws -> HTTPReceiver {
        let receiver = try await HTTPReceiver.start(behaviour: behaviour)
        receivers.append(receiver)
        return receiver
    }

    func producer() throws -> EventProducer {
        try EventProducer(url: redis.url, prefix: prefix)
    }

    /// Pushes `count` events `user-0` ... with `action`, in batches of 100 LPUSHes.
    func push(_ count: Int, action: String = "user_created") throws {
        let producer = try producer()
        let now = Date().timeIntervalSince1970
        var batch: [[UInt8]] = []
        for i in 0..<count {
            batch.append(try EventProducer.event(action: action, username: "user-\(i)", now: now))
            if batch.count == 100 { try producer.enqueue(batch); batch = [] }
        }
        if !batch.isEmpty { try producer.enqueue(batch) }
    }

    /// Runs `redis-cli` against this test's server; returns its output as printed.
    func redisCLI(_ args: [String]) throws -> String {
        try redis.cli.output(args)
    }

    /// An integer reply; throws when Redis fails or the reply is not an integer.
    func redisInt(_ args: [String]) throws -> Int {
        try redis.cli.int(args)
    }

    func llen(_ key: String) throws -> Int {
        try redisInt(["LLEN", "\(prefix):\(key)"])
    }

    func zcard(_ key: String) throws -> Int {
        try redisInt(["ZCARD", "\(prefix):\(key)"])
    }

    /// Total of every worker's processing list.
    func processingTotal() throws -> Int {
        let keys = try redis.cli.lines(["KEYS", "\(prefix):processing:*"])
        return try keys.reduce(0) { total, key in total + (try redisInt(["LLEN", key])) }
    }

    /// Pushes raw items onto the queue with redis-cli (as any producer in any language would).
    func lpush(_ items: [String]) throws {
        for item in items { _ = try redis.cli.run(["LPUSH", "\(prefix):queue", item]) }
    }

    /// Waits until `sample` returns a value `done` accepts; a timeout fails with the last value.
    @discardableResult
    func waitFor<T>(_ what: String, timeout: Double = 30, _ sample: () async throws -> T,
                    until done: (T) throws -> Bool) async throws -> T {
        try await eventually(what, timeout: timeout, sample, until: done)
    }

    /// Runs a CLI subcommand against this test's Redis and prefix.
    func cli(_ arguments: [String], _ extra: [String: String] = [:]) throws -> (status: Int32, output: String) {
        try WorkerProcess.command(arguments, environment: environment(extra))
    }

    /// Runs a CLI subcommand to completion without blocking a thread; stdout and stderr apart.
    func command(_ arguments: [String], _ extra: [String: String] = [:],
                 files: [String: String] = [:]) async throws -> WorkerProcess.CommandResult {
        try await WorkerProcess.complete(arguments, environment: environment(extra), files: files)
    }

    // MARK: - Reading deliveries

    func json(_ request: RecordedRequest) throws -> [String: Any] {
        let object = try JSONSerialization.jsonObject(with: Data(request.body))
        return try XCTUnwrap(object as? [String: Any], "body is not a JSON object: \(request.text)")
    }

    func usernames(_ requests: [RecordedRequest]) throws -> [String] {
        try requests.map { try XCTUnwrap(json($0)["username"] as? String) }
    }

    /// Lowercase hex HMAC-SHA256, computed here with swift-crypto directly.
    func hexHMAC(_ body: [UInt8], secret: String) -> String {
        let mac = HMAC<SHA256>.authenticationCode(for: body, using: SymmetricKey(data: Array(secret.utf8)))
        return mac.map { String(format: "%02x", $0) }.joined()
    }

    /// Standard Webhooks `v1,<base64>` for a plain (non-whsec) secret.
    func standardSignature(id: String, timestamp: String, body: [UInt8], secret: String) -> String {
        let signed = Array("\(id).\(timestamp).".utf8) + body
        let mac = HMAC<SHA256>.authenticationCode(for: signed, using: SymmetricKey(data: Array(secret.utf8)))
        return "v1," + Data(mac).base64EncodedString()
    }

    /// Stops a worker with SIGTERM and asserts a clean exit, without blocking a thread.
    func stop(_ worker: WorkerProcess, file: StaticString = #filePath, line: UInt = #line) async {
        worker.terminate()
        let status = await worker.exit(timeout: 20)
        XCTAssertEqual(status, 0, "worker exit status; log:\n\(Self.crashReport(worker.log))", file: file, line: line)
    }

    /// A dead worker's log for a failure message: its last 3,000 characters, after the lines that
    /// say why it died (Swift's `Fatal error: ...` and the crash line come before a backtrace of
    /// every thread, which alone fills the last 3,000).
    static func crashReport(_ log: String) -> String {
        let why = log.split(separator: "\n").filter {
            $0.contains("Fatal error") || $0.contains("Program crashed") || $0.contains("Simultaneous accesses")
                || $0.contains("crashed:")
        }
        return (why.isEmpty ? "" : why.joined(separator: "\n") + "\n...\n") + log.suffix(3000)
    }

    /// Waits until the worker has written its heartbeat (it takes nothing before).
    func waitUntilRegistered(_ count: Int = 1, timeout: Double = 30) async throws {
        try await waitFor("\(count) worker(s) registered", timeout: timeout, { try zcard("workers") }, until: { $0 >= count })
    }
}
