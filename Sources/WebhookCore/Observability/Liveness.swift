import Foundation

/// Which long-running loops of a process are still making progress, for a liveness probe
/// (`GET /livez`).
///
/// A loop registers under a name with a stall bound, then calls ``beat(_:)`` on every iteration.
/// A loop whose last beat (or registration) is older than its bound is stalled: a deadlock, a
/// call with no timeout, a thread that died. An orchestrator restarts such a process; a slow or
/// unreachable Redis is not a stall (the loops keep iterating through their timeouts and
/// backoff), so the bound must exceed the longest bounded wait inside one iteration.
///
/// `beat` is called on hot paths: it takes a lock and reads a monotonic clock, nothing else (no
/// allocation once a name is registered).
public final class Liveness: @unchecked Sendable {
    // @unchecked: `loops` is only touched with `lock` held.

    /// A loop past its bound.
    public struct Stall: Sendable, Equatable, CustomStringConvertible {
        public let name: String
        /// Seconds since its last beat.
        public let silentFor: Double
        /// The bound it registered with.
        public let bound: Double

        public var description: String {
            "\(name) (no progress for \(Self.seconds(silentFor)) s, bound \(Self.seconds(bound)) s)"
        }

        private static func seconds(_ value: Double) -> String {
            String(format: "%.1f", value)
        }
    }

    private struct Loop {
        var bound: Double
        var lastBeat: Double
    }

    private let lock = NSLock()
    private var loops: [String: Loop] = [:]
    private let clock: @Sendable () -> Double

    /// - Parameter clock: seconds on a monotonic clock; tests inject their own.
    public init(clock: @escaping @Sendable () -> Double = Liveness.monotonicSeconds) {
        self.clock = clock
    }

    /// Starts watching `name`: it must beat within `bound` seconds from now, and then within
    /// `bound` of each beat. Registering a name again resets it with the new bound.
    public func register(_ name: String, bound: Double) {
        let now = clock()
        lock.lock()
        loops[name] = Loop(bound: bound, lastBeat: now)
        lock.unlock()
    }

    /// Stops watching `name` (its loop ended on purpose, e.g. at shutdown).
    public func unregister(_ name: String) {
        lock.lock()
        loops[name] = nil
        lock.unlock()
    }

    /// Records that `name` made progress now. A name never registered is ignored, so a loop may
    /// beat before (or after) anyone watches it.
    public func beat(_ name: String) {
        let now = clock()
        lock.lock()
        loops[name]?.lastBeat = now
        lock.unlock()
    }

    /// The registered names, sorted.
    public var names: [String] {
        lock.lock()
        defer { lock.unlock() }
        return loops.keys.sorted()
    }

    /// The loops whose last beat is more than their bound before `now`, sorted by name.
    public func stalled(now: Double) -> [Stall] {
        lock.lock()
        let snapshot = loops
        lock.unlock()
        return snapshot.compactMap { name, loop in
            let silent = now - loop.lastBeat
            return silent > loop.bound ? Stall(name: name, silentFor: silent, bound: loop.bound) : nil
        }.sorted { $0.name < $1.name }
    }

    /// ``stalled(now:)`` at the current time of this instance's clock.
    public func stalled() -> [Stall] {
        stalled(now: clock())
    }

    /// Seconds since an arbitrary start, from `CLOCK_MONOTONIC`: immune to wall-clock changes.
    public static func monotonicSeconds() -> Double {
        var spec = timespec()
        clock_gettime(CLOCK_MONOTONIC, &spec)
        return Double(spec.tv_sec) + Double(spec.tv_nsec) / 1_000_000_000
    }
}
