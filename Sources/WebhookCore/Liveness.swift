import Foundation

/// Progress of a process's loops, for `GET /livez`: each loop beats on every iteration; one that
/// has not beaten within its bound is stalled.
public final class Liveness: @unchecked Sendable {
    public static let taker = "taker"
    public static let dispatcher = "dispatcher"
    public static let maintenance = "maintenance"

    private let lock = NSLock()
    private var loops: [String: (bound: Double, last: ContinuousClock.Instant)] = [:]

    public init() {}

    /// Starts watching `name`: stalled when it has not beaten for `bound` seconds.
    public func register(_ name: String, bound: Double) {
        lock.lock(); defer { lock.unlock() }
        loops[name] = (bound, .now)
    }

    /// Stops watching `name` (a loop that ended on purpose).
    public func unregister(_ name: String) {
        lock.lock(); defer { lock.unlock() }
        loops.removeValue(forKey: name)
    }

    /// Records progress of `name`.
    public func beat(_ name: String) {
        lock.lock(); defer { lock.unlock() }
        if let loop = loops[name] { loops[name] = (loop.bound, .now) }
    }

    /// The loops past their bound, sorted.
    public func stalled() -> [String] {
        lock.lock(); defer { lock.unlock() }
        let now = ContinuousClock.now
        return loops.filter { now - $0.value.last > .seconds($0.value.bound) }.map(\.key).sorted()
    }
}
