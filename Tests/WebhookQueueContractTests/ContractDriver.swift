import Foundation
import TestSupport
import WebhookCore
import WebhookQueue
import WebhookRedis
import XCTest

/// One driver under the contract: how to open its queues and limits, and how to look at its
/// store the way a producer or an operator would (what is queued, delayed, dead, held).
protocol ContractDriver {
    func queue(_ workerID: String) -> any DeliveryQueue
    func limits() -> any EndpointLimits
    /// `LPUSH`es items as a producer does.
    func push(_ items: [String]) throws
    /// The queue, left (newest) first; the taking end is the last.
    func queued() throws -> [[UInt8]]
    /// One worker's processing list, newest first.
    func processing(_ workerID: String) throws -> [[UInt8]]
    func delayedCount() throws -> Int
    /// The dead list, newest first.
    func dead() throws -> [[UInt8]]
    /// The attempt log, newest first.
    func attemptLog() throws -> [[UInt8]]
    /// Pauses an endpoint as `endpoints pause` does (not a worker operation).
    func pause(endpoint: String) throws
}

/// The memory drivers: one store for the queue, one for the limits.
struct MemoryContractDriver: ContractDriver {
    let store = MemoryDeliveryQueue.Store()
    let limitsStore = MemoryEndpointLimits.Store()

    func queue(_ workerID: String) -> any DeliveryQueue { MemoryDeliveryQueue(store: store, workerID: workerID) }
    func limits() -> any EndpointLimits { MemoryEndpointLimits(store: limitsStore) }
    func push(_ items: [String]) throws { store.push(items.map { Array($0.utf8) }) }
    func queued() throws -> [[UInt8]] { store.snapshot.queue }
    func processing(_ workerID: String) throws -> [[UInt8]] { store.processing(of: workerID) }
    func delayedCount() throws -> Int { store.snapshot.delayed }
    func dead() throws -> [[UInt8]] { store.snapshot.dead }
    func attemptLog() throws -> [[UInt8]] { store.log }
    func pause(endpoint: String) throws { limitsStore.pause(endpoint: endpoint) }
}

/// The Redis drivers on a real redis-server of the test's own, under the prefix `c`.
final class RedisContractDriver: ContractDriver {
    let server: RedisServer
    private let redis: RedisConnection
    private let prefix = "c"

    init() throws {
        server = try RedisServer()
        redis = try RedisConnection(url: server.url)
    }

    func stop() { server.stop() }

    func queue(_ workerID: String) -> any DeliveryQueue {
        RedisDeliveryQueue(url: server.url, prefix: prefix, workerID: workerID)
    }

    func limits() -> any EndpointLimits { EndpointState(url: server.url, prefix: prefix) }

    func push(_ items: [String]) throws {
        guard !items.isEmpty else { return }
        _ = try redis.command((["LPUSH", "\(prefix):queue"] + items).map { Array($0.utf8) })
    }

    private func list(_ key: String) throws -> [[UInt8]] {
        (try redis.command("LRANGE", key, "0", "-1").array ?? []).compactMap(\.bytes)
    }

    func queued() throws -> [[UInt8]] { try list("\(prefix):queue") }
    func processing(_ workerID: String) throws -> [[UInt8]] { try list("\(prefix):processing:\(workerID)") }
    func delayedCount() throws -> Int { try redis.command("ZCARD", "\(prefix):delayed").integer ?? -1 }
    func dead() throws -> [[UInt8]] { try list("\(prefix):dead") }
    func attemptLog() throws -> [[UInt8]] { try list("\(prefix):log") }
    func pause(endpoint: String) throws { try EndpointState(url: server.url, prefix: prefix).pause(endpoint: endpoint) }
}

/// What every contract's base class shares: a fresh driver per test, made by the driver's
/// subclass, and a Redis driver's server stopped after it.
class ContractCase: XCTestCase {
    /// The driver under test; each subclass makes its own.
    func makeDriver() throws -> any ContractDriver {
        preconditionFailure("\(Self.self) must override makeDriver(): the contract runs only in a driver's subclass")
    }

    var driver: (any ContractDriver)!

    override func setUpWithError() throws {
        driver = try makeDriver()
    }

    override func tearDown() {
        (driver as? RedisContractDriver)?.stop()
        driver = nil
    }
}
