import Foundation
import Synchronization
import WebhookCore

/// The endpoint limits' rules in process memory: the `EndpointLimits` driver of a runtime without
/// Redis. The same rules as the Redis scripts (`rate_reserve`, `breaker_record`, `breaker_gate`),
/// checked by the same contract suite; one shared `Store` stands in for the server (the "fleet"
/// is the threads of one process) and one `MemoryEndpointLimits` per thread for a connection.
/// Its clock is this process's, so `clockOffset` is 0.
public final class MemoryEndpointLimits: EndpointLimits {
    /// What Redis would hold: each rate scope's next free slot and each endpoint's breaker.
    public final class Store: Sendable {
        struct Breaker {
            /// Consecutive failures.
            var failures = 0
            /// When it opened (ms); nil while closed.
            var openedAt: Int?
            var paused = false
            var lastError: String?
            /// The probe slot is taken until this time (ms); 0 when free.
            var probeUntil = 0
        }

        struct State {
            /// Each scope's theoretical arrival time: its next free slot (µs).
            var rates: [RateScope: Int] = [:]
            var breakers: [String: Breaker] = [:]
        }

        let state = Mutex(State())

        public init() {}

        /// Pauses deliveries to `endpoint` (held like an open breaker); false when it already was.
        @discardableResult
        public func pause(endpoint: String) -> Bool {
            state.withLock { state in
                defer { state.breakers[endpoint, default: Breaker()].paused = true }
                return state.breakers[endpoint]?.paused != true
            }
        }

        /// Lifts a pause; an open breaker stays open. False when it was not paused.
        @discardableResult
        public func resume(endpoint: String) -> Bool {
            state.withLock { state in
                defer { state.breakers[endpoint]?.paused = false }
                return state.breakers[endpoint]?.paused == true
            }
        }

        /// The clock, in microseconds since the epoch.
        static func nowMicros() -> Int { Int(Date().timeIntervalSince1970 * 1_000_000) }
    }

    private let store: Store
    public private(set) var clockOffset: Double?

    public init(store: Store) {
        self.store = store
    }

    public func reserve(_ scope: RateScope, rate: RateLimit, maxHold: Double, heldSince: [Double]) throws(QueueError) -> RateReservation {
        let interval = max(1, Int((rate.interval * 1_000_000).rounded(.up)))
        let longest = Int(min(max(0, maxHold), 1e12) * 1_000_000)
        let (now, slots) = store.state.withLock { state -> (Int, [RateReservation.Slot]) in
            let now = Store.nowMicros()
            var tat = state.rates[scope] ?? 0
            var slots: [RateReservation.Slot] = []
            slots.reserveCapacity(heldSince.count)
            for held in heldSince {
                var since = held > 0 ? Int(held * 1_000_000) : 0
                if since <= 0 || since > now { since = now }
                let slot = max(tat, now)
                if slot - since > longest {
                    slots.append(.refused(wait: Double(max(1, slot - now)) / 1_000_000))
                } else {
                    slots.append(.granted(in: Double(slot - now) / 1_000_000))
                    tat = slot + interval
                }
            }
            state.rates[scope] = tat
            return (now, slots)
        }
        clockOffset = 0
        return RateReservation(now: Double(now) / 1_000_000, slots: slots)
    }

    public func gate(endpoint: String, probeInterval: Double, token: String) throws(QueueError) -> BreakerGate {
        let interval = Self.milliseconds(probeInterval)
        clockOffset = 0
        return store.state.withLock { state in
            let now = Store.nowMicros() / 1000
            guard let breaker = state.breakers[endpoint] else { return .closed }
            if breaker.paused { return .paused }
            guard breaker.openedAt != nil else { return .closed }
            if breaker.probeUntil <= now {
                state.breakers[endpoint]?.probeUntil = now + interval
                return .probe
            }
            return .hold(Double(breaker.probeUntil - now) / 1000)
        }
    }

    public func record(endpoint: String, successes: Int, failures: Int, failuresSinceSuccess: Int?,
                       lastError: String?, threshold: Int, probeInterval: Double) throws(QueueError) -> BreakerRecord {
        let successes = max(0, successes), failures = max(0, failures), threshold = max(1, threshold)
        let trailing = max(0, successes > 0 ? min(failuresSinceSuccess ?? failures, failures) : failures)
        return store.state.withLock { state in
            let now = Store.nowMicros() / 1000
            var breaker = state.breakers[endpoint] ?? Store.Breaker()
            defer { state.breakers[endpoint] = breaker }
            breaker.failures = successes > 0 ? trailing : breaker.failures + trailing
            if failures > 0, let lastError, !lastError.isEmpty { breaker.lastError = String(lastError.prefix(500)) }
            if let opened = breaker.openedAt {
                if successes > 0 && breaker.failures < threshold {
                    breaker.openedAt = nil
                    breaker.probeUntil = 0
                    return BreakerRecord(transition: .closed, consecutiveFailures: breaker.failures, openedAt: nil)
                }
                return BreakerRecord(transition: .none, consecutiveFailures: breaker.failures, openedAt: Double(opened) / 1000)
            }
            if breaker.failures >= threshold {
                breaker.openedAt = now
                // The first probe comes one interval after opening, not at once.
                breaker.probeUntil = now + Self.milliseconds(probeInterval)
                return BreakerRecord(transition: .opened, consecutiveFailures: breaker.failures, openedAt: Double(now) / 1000)
            }
            return BreakerRecord(transition: .none, consecutiveFailures: breaker.failures, openedAt: nil)
        }
    }

    private static func milliseconds(_ seconds: Double) -> Int { max(1, Int((seconds * 1000).rounded())) }
}
