import Foundation
import WebhookCore
import WebhookRedis

/// Everything the pages read from Redis and every change they make, through the same
/// WebhookRedis operations the CLI uses (`status`, `endpoints`, `dead`). Blocking (hiredis):
/// call it off the event loop. One lock around its connections, because `RedisQueue` and
/// `EndpointState` are one-thread types; a dashboard serves few requests.
final class DashboardStore: @unchecked Sendable {
    // @unchecked: every member below is touched only with `lock` held.
    private let lock = NSLock()
    private let configuration: Configuration
    let queue: RedisQueue
    private let state: EndpointState
    let authenticator: ItemAuthenticator
    private let directory: TargetDirectory
    /// The attempt log, through `queue`'s connection.
    let log: AttemptLog
    /// Dead letters shown on the page (newest first); the rest are counted.
    static let deadPageSize = 200
    /// Dead letters read per round trip when searching or replaying.
    static let deadChunk = 1000

    init(configuration: Configuration) {
        self.configuration = configuration
        let redis = configuration.redis
        queue = RedisQueue(url: redis.url, prefix: redis.keyPrefix, workerID: "dashboard")
        state = EndpointState(url: redis.url, prefix: redis.keyPrefix)
        authenticator = ItemAuthenticator(keyMaterial: configuration.worker.itemKeyMaterial)
        directory = TargetDirectory(targets: configuration.targets, authenticator: authenticator)
        log = AttemptLog(queue: queue)
    }

    var targets: [Target] { configuration.targets }

    func locked<T>(_ body: () throws -> T) rethrows -> T {
        lock.lock()
        defer { lock.unlock() }
        return try body()
    }

    private var leaseMillis: Int { Int(configuration.worker.lease * 1000) }

    // MARK: Pages

    func overview() -> OverviewPage {
        locked {
            do {
                let depths = try queue.depths(leaseMillis: leaseMillis)
                let fleet = try queue.fleetSnapshot(leaseMillis: leaseMillis)
                var histories: [EndpointHistory] = []
                for target in targets { histories.append(try state.history(endpoint: target.name)) }
                let sums = OverviewPage.sum(histories)
                return OverviewPage(depths: depths, fleet: fleet, successes: sums.successes, failures: sums.failures)
            } catch {
                return OverviewPage(depths: QueueDepths(queue: 0, delayed: 0, processing: 0, dead: 0, workers: []),
                                    fleet: FleetSnapshot(workers: [], role: nil, usedMemory: nil, maxMemory: nil,
                                                         now: Date().timeIntervalSince1970),
                                    successes: [], failures: [], problem: "Redis cannot be read: \(error)")
            }
        }
    }

    func endpoints() -> EndpointsPage {
        locked {
            var problem: String?
            let rows = targets.map { target -> EndpointsPage.Row in
                var status: EndpointStatus?, history: EndpointHistory?
                do {
                    status = try state.status(endpoint: target.name)
                    history = try state.history(endpoint: target.name)
                } catch {
                    problem = "Redis cannot be read: \(error)"
                }
                return .init(name: target.name, kind: target.kind.rawValue, redactedURL: target.redactedURL,
                             status: status, history: history, p95: EndpointsPage.p95(latencies(target.name)))
            }
            return EndpointsPage(rows: rows, readOnly: configuration.dashboard.readOnly, problem: problem)
        }
    }

    func deadLetters() -> DeadLettersPage {
        locked {
            do {
                let entries = try queue.deadList(limit: Self.deadPageSize)
                let total = try queue.deadCount()
                let rows = entries.map { entry -> DeadLettersPage.Row in
                    guard let letter = try? DeadLetter(decoding: entry) else { return .init(letter: nil, endpoint: "-") }
                    let url = letter.endpoint.map { URLRedaction.redact($0) }
                    return .init(letter: letter, endpoint: letter.endpointName ?? url ?? "-")
                }
                return DeadLettersPage(rows: rows, total: total, readOnly: configuration.dashboard.readOnly)
            } catch {
                return DeadLettersPage(rows: [], total: 0, readOnly: configuration.dashboard.readOnly,
                                       problem: "Redis cannot be read: \(error)")
            }
        }
    }

    /// How many dead letters `operation` would touch.
    func count(_ operation: ConfirmPage.Operation) throws -> Int {
        try locked {
            switch operation {
            case .replay: return 1
            case .purge: return try queue.deadCount()
            case .replayEndpoint(let name): return try deadEntries { $0.endpointName == name }.count
            }
        }
    }

    // MARK: Actions

    /// Pauses or resumes a configured endpoint; false for a name not configured.
    func setPaused(_ paused: Bool, endpoint: String) throws -> Bool {
        guard targets.contains(where: { $0.name == endpoint }) else { return false }
        return try locked {
            if paused { try state.pause(endpoint: endpoint) } else { try state.resume(endpoint: endpoint) }
            return true
        }
    }

    /// Replays the dead letters with this id, or all of this endpoint's, as `dead replay` does.
    /// - Returns: how many went back to the queue.
    func replay(id: String?, endpoint: String?) throws -> Int {
        try locked {
            let chosen = try deadEntries { letter in
                if let id { return letter.id == id }
                return letter.endpointName == endpoint
            }
            var replayed = 0
            for entry in chosen {
                guard case .replay(let item, _) = DeadLetterReplay.plan(entry, directory: directory, authenticator: authenticator)
                else { continue }
                if try queue.deadReplace(entry: entry, with: item) { replayed += 1 }
            }
            return replayed
        }
    }

    func purge() throws -> Int {
        try locked { try queue.deadPurge() }
    }

    /// The stored dead entries whose letter passes `wanted`, read a page at a time.
    private func deadEntries(_ wanted: (DeadLetter) -> Bool) throws -> [[UInt8]] {
        var chosen: [[UInt8]] = [], offset = 0
        while true {
            let page = try queue.deadList(offset: offset, limit: Self.deadChunk)
            for entry in page {
                if let letter = try? DeadLetter(decoding: entry), wanted(letter) { chosen.append(entry) }
            }
            if page.count < Self.deadChunk { return chosen }
            offset += page.count
        }
    }
}
