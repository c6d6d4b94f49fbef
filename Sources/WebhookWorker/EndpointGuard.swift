import Foundation
import Logging
import Metrics
import WebhookCore
import WebhookQueue

/// The fleet-wide limits in front of each endpoint, kept in Redis so that all workers share them:
/// the rate limit (`rate: N/s`, a GCRA on Redis's clock) and the circuit breaker (opens after
/// `WEBHOOK_BREAKER_FAILURES` consecutive failures; then one probe per `WEBHOOK_BREAKER_PROBE`
/// seconds, fleet-wide, and the first success closes it). What either says "not now" to waits
/// in the delayed set without spending a try. Owned by the dispatcher thread.
///
/// Rate limits reserve: each request behind a limit is given its slot once (one script call
/// places a whole batch, `EndpointLimits.reserve`), then waits for it without asking again: in
/// memory when the slot is near (`Pacer`), else in the delayed set, due a little before its
/// slot and marked with it (`Delivery.slot`, covered by the item's MAC), so the worker that
/// takes it back sends it at the slot. So an event behind a limit costs a fixed handful of
/// Redis commands however long the backlog. A slot that would hold a delivery past
/// WEBHOOK_BREAKER_MAX_HOLD is not reserved: the delivery becomes a dead letter at once rather
/// than after waiting that long. Rate state is per endpoint for webhooks and per destination
/// for Discord and Telegram (`RateScope`).
///
/// When Redis does not answer, one rule for all calls: after a failed call the guard asks Redis
/// nothing more until it answers again (the dispatcher's next successful settle says so) or a
/// backoff has passed (1 s doubling to 30 s), so the dispatcher never sits in one timeout per
/// attempt. And one policy per kind of state, each for a reason:
/// - a breaker it cannot read counts as closed (fails open). Why: the breaker protects the
///   worker's room from a dead endpoint, not the endpoint; holding every endpoint's deliveries
///   whenever Redis blips would stop the fleet on a guess, while the endpoint's own answers
///   still decide retries and are tallied meanwhile.
/// - a rate limit it cannot read counts as exhausted (fails closed): attempts needing a slot
///   wait in the delayed set (no try spent); slots already granted are honoured. Why: a limit
///   is a promise to the receiver (Discord and Telegram ban clients over it), and waiting
///   costs nothing but time.
/// - outcome tallies it cannot write are kept and added to the next write (a write whose reply
///   was lost may count them twice: a breaker may then open early, never late). Why: dropping
///   them would let an endpoint that fails only while Redis is unsteady never open. They are
///   kept for at most `maxTallyKeys` breaker keys (one per endpoint, or per destination of a
///   routed endpoint): past that, a new key's outcomes are dropped, counted, and logged at
///   most once a minute, so a long outage with many destinations cannot grow memory without
///   bound.
///
/// The limits are an `EndpointLimits` driver: Redis (`EndpointState`) or memory
/// (`MemoryEndpointLimits`); without one (`state` nil, unit tests only) everything passes.
final class EndpointGuard {
    typealias Attempt = DeliveryLedger.Attempt

    /// What `admit` decided.
    struct Decisions {
        /// Send now: no limit in the way.
        var send: [Attempt] = []
        /// Granted rate-limit slots, near: hold in memory until each entry's time.
        var paced: [Pacer.Entry] = []
        /// Back to the delayed set without a try: verdicts for the ledger's `postpone`.
        var wait: [Postponement] = []
    }

    private let state: (any EndpointLimits)?
    private let configuration: Configuration
    private let workerID: String
    private let logger: Logger
    private var breaker: BreakerConfiguration { configuration.endpoints.breaker }
    /// The last gate answer per endpoint and until when it holds: one Redis call per endpoint per
    /// second at most while the breaker is closed.
    /// Each breaker's last answer and until when it stands, by breaker key (`Target.breakerHashedKey`:
    /// looked up at every attempt, and a `String` key was hashed whole at each lookup).
    private var gates: [HashedKey: (gate: BreakerGate, until: Date)] = [:]
    /// Outcomes not yet written, per breaker key (`Target.breakerKey`: the endpoint's name, or
    /// name and destination digest; hashed once, see `HashedKey`).
    private var tallies: [HashedKey: Tally] = [:]
    private var transitions: [String: Counter] = [:]
    /// Outcomes are written at most this often: one script call per endpoint per round, not per
    /// dispatcher iteration (thousands a second at full speed).
    private static let flushInterval = 0.25
    private var nextFlush = Date.distantPast
    /// Notifications to enqueue (breaker opened/closed), drained by the dispatcher.
    private(set) var announcements: [(target: Target, event: [UInt8])] = []
    /// Set after a failed call: no call before this time (see the type's doc).
    private var quietUntil: Date?
    private var backoff = Backoff(initial: 1, cap: 30)
    private var lastFailure = ""
    private var scopes: [String: RateScope] = [:]
    /// Breaker keys whose unwritten tallies are kept at most (see the type's doc).
    static let maxTallyKeys = 10_000
    /// Outcomes dropped since the last warning about it, and when that was.
    private var droppedTallies = 0
    /// Outcomes dropped in all (see `keepTally`).
    private(set) var droppedTallyTotal = 0
    /// Breaker keys whose tallies wait to be written.
    var pendingTallyKeys: Int { tallies.count }
    private var droppedWarnedAt = Date.distantPast

    /// Slots nearer than this (after `lead`) wait in memory; further ones in the delayed set, due
    /// at a multiple of it, so that the poller moves each quantum's deliveries in one call.
    static func quantum(_ rate: RateLimit) -> Double { min(max(1, 8 * rate.interval), 30) }
    /// How long before its slot a delivery comes back from the delayed set.
    static let lead = 0.5
    /// A slot missed by more than this (the fleet was stopped, say) is not used: the delivery
    /// asks for a new one rather than join every other late one at once.
    static let staleSlot = 60.0

    private struct Tally {
        /// The endpoint's name (a routed endpoint's breaker key is name and destination digest).
        let endpoint: String
        var successes = 0
        var failures = 0
        var failuresSinceSuccess = 0
        var lastError: String?

        mutating func succeeded() {
            successes += 1
            failuresSinceSuccess = 0
        }

        mutating func failed(_ error: String) {
            failures += 1
            failuresSinceSuccess += 1
            lastError = error
        }

        /// Adds outcomes counted after these.
        mutating func absorb(_ later: Tally) {
            failuresSinceSuccess = later.successes > 0 ? later.failuresSinceSuccess : failuresSinceSuccess + later.failures
            successes += later.successes
            failures += later.failures
            lastError = later.lastError ?? lastError
        }
    }

    init(state: (any EndpointLimits)?, configuration: Configuration, workerID: String, logger: Logger) {
        self.state = state
        self.configuration = configuration
        self.workerID = workerID
        self.logger = logger
    }

    /// Unix seconds on Redis's clock as this worker knows it: its own clock plus the offset
    /// measured from Redis's last reply that carried the time (never ahead of Redis's).
    func now() -> Double {
        Date().timeIntervalSince1970 + (state?.clockOffset ?? 0)
    }

    /// Redis answered a call on another connection (a settle): the guard may ask it again.
    func redisAnswered() {
        guard quietUntil != nil else { return }
        quietUntil = nil
        backoff.reset()
        logger.info("endpoint limits readable again")
    }

    /// Whether a call may be made now (see the type's doc).
    private var mayCall: Bool {
        guard let quietUntil else { return true }
        return Date() >= quietUntil
    }

    private func failed(_ error: QueueError, doing what: String) {
        let pause = backoff.next()
        if quietUntil == nil {
            logger.warning("endpoint limits unavailable: breakers count as closed, rate-limited deliveries wait, outcomes are kept for the next write", metadata: [
                "error": "\(error.message)", "during": "\(what)"])
        }
        quietUntil = Date().addingTimeInterval(pause)
        lastFailure = error.message
    }

    private func succeeded() {
        guard quietUntil != nil else { return }
        quietUntil = nil
        backoff.reset()
    }

    /// Decides, for each attempt, send now, wait in memory for its slot, or wait in the delayed
    /// set. Makes at most one Redis call per endpoint gate (cached) and one per rate scope.
    /// Consuming: when every attempt goes out, `send` is the same array, still held once.
    func admit(_ attempts: consuming [Attempt]) -> Decisions {
        var out = Decisions()
        guard let state else {
            out.send = consume attempts
            return out
        }
        var probing: Set<String> = []
        /// Requests that need a slot, per scope in first-seen order; a Marzban-mode endpoint's
        /// attempts of this batch are one request.
        var pending: [(scope: RateScope, rate: RateLimit, units: [[Attempt]])] = []
        var batchUnit: [String: (scope: Int, unit: Int)] = [:]
        /// Attempts that came back with their slot, grouped by target and slot.
        var marked: [String: Int] = [:]
        let redisNow = now(), local = Date()
        // The common batch goes out whole (nothing held, nothing rate-limited) and is then handed
        // on as the same array: `passed` counts the attempts that went out as they came, before
        // any that did not, and those are not copied into `send` one by one.
        var passed = 0
        for index in attempts.indices {
            // The attempt is read in place up to its rate limit, and bound (copied) only past it.
            let target = attempts[index].target
            // A routed endpoint's breaker is per destination (`Target.breakerKey`); `endpoints
            // pause NAME` still holds all of its destinations.
            let key = target.breakerHashedKey, name = key.string
            if name != target.name, gate(HashedKey(target.name), state, now: local) == .paused {
                out.wait.append(Postponement(attempts[index], after: breaker.probeInterval, reason: .paused(endpoint: target.name)))
                continue
            }
            switch gate(key, state, now: local) {
            case .closed:
                break
            case .probe where !probing.contains(name):
                probing.insert(name)  // one probe; the rest of this batch waits for its answer
                gates[key] = (.hold(breaker.probeInterval), Date().addingTimeInterval(breaker.probeInterval))
            case .probe, .hold:
                out.wait.append(Postponement(attempts[index], after: holdDelay(key), reason: .open(endpoint: name)))
                continue
            case .paused:
                out.wait.append(Postponement(attempts[index], after: breaker.probeInterval, reason: .paused(endpoint: name)))
                continue
            }
            guard let rate = target.spec?.rate else {
                if passed == index { passed += 1 } else { out.send.append(attempts[index]) }
                continue
            }
            let attempt = attempts[index]
            let scope = scope(of: attempt.target)
            if attempt.slot > 0 && attempt.slot - redisNow > -Self.staleSlot {
                // It has its slot: wait for it without asking again. A slot missed by a little
                // (the fleet runs behind) is still used: the pacer spaces the late ones.
                let wait = attempt.slot - redisNow
                if wait > Self.quantum(rate) + Self.lead {
                    out.wait.append(Postponement(attempt, after: dueDelay(slot: attempt.slot, now: redisNow, rate: rate),
                                                 slot: attempt.slot, reason: .rateLimited(endpoint: name, rate: rate)))
                } else {
                    let key = attempt.target.id + "@" + String(attempt.slot)
                    if let index = marked[key], attempt.batched {
                        let entry = out.paced[index]
                        out.paced[index] = Pacer.Entry(at: entry.at, scope: entry.scope, interval: entry.interval, slot: entry.slot,
                                                       attempts: entry.attempts + [attempt])
                    } else {
                        marked[key] = out.paced.count
                        out.paced.append(Pacer.Entry(at: local.addingTimeInterval(max(0, wait)), scope: scope,
                                                     interval: rate.interval, slot: attempt.slot, attempts: [attempt]))
                    }
                }
                continue
            }
            let index: Int
            if let found = pending.firstIndex(where: { $0.scope == scope }) {
                index = found
                // Endpoints sharing a destination share its slots at the strictest of their rates.
                if rate.interval > pending[index].rate.interval { pending[index].rate = rate }
            } else {
                index = pending.count
                pending.append((scope, rate, []))
            }
            if attempt.batched, let found = batchUnit[attempt.target.id], found.scope == index {
                pending[index].units[found.unit].append(attempt)
            } else {
                if attempt.batched { batchUnit[attempt.target.id] = (index, pending[index].units.count) }
                pending[index].units.append([attempt])
            }
        }
        if passed == attempts.count {
            out.send = consume attempts
        } else if passed > 0 {
            out.send.insert(contentsOf: attempts[..<passed], at: 0)
        }
        for (scope, rate, units) in pending {
            reserve(units, scope: scope, rate: rate, state: state, into: &out)
        }
        return out
    }

    /// Places `units` (one request each) in their scope's slots.
    private func reserve(_ units: [[Attempt]], scope: RateScope, rate: RateLimit, state: any EndpointLimits, into out: inout Decisions) {
        let name = units[0][0].target.name
        let limited = Postponement.Reason.rateLimited(endpoint: name, rate: rate)
        guard mayCall else {
            let after = max(1, quietUntil?.timeIntervalSinceNow ?? 1)
            for attempt in units.joined() {
                out.wait.append(Postponement(attempt, after: after, reason: .limitsUnavailable(endpoint: name, error: lastFailure)))
            }
            return
        }
        let answer: RateReservation
        do {
            answer = try state.reserve(scope, rate: rate, maxHold: breaker.maxHold,
                                       heldSince: units.map { unit in unit.map(\.heldSince).filter { $0 > 0 }.min() ?? 0 })
            succeeded()
        } catch {
            failed(error, doing: "rate limit")
            for attempt in units.joined() {
                out.wait.append(Postponement(attempt, after: 1, reason: .limitsUnavailable(endpoint: name, error: error.message)))
            }
            return
        }
        let received = Date()
        for (unit, slot) in zip(units, answer.slots) {
            switch slot {
            case .granted(let delay):
                let at = answer.now + delay
                if delay <= Self.quantum(rate) + Self.lead {
                    out.paced.append(Pacer.Entry(at: received.addingTimeInterval(delay), scope: scope, interval: rate.interval,
                                                 slot: at, attempts: unit))
                } else {
                    for attempt in unit {
                        out.wait.append(Postponement(attempt, after: dueDelay(slot: at, now: answer.now, rate: rate), slot: at,
                                                     reason: limited))
                    }
                }
            case .refused(let wait):
                // Past the longest hold: the ledger turns this into a dead letter.
                for attempt in unit { out.wait.append(Postponement(attempt, after: wait, reason: limited)) }
            }
        }
    }

    /// Seconds from `now` until a delivery with `slot` is due back from the delayed set: `lead`
    /// before the slot, rounded down to the rate's quantum so that the slots of one quantum
    /// fall due together.
    private func dueDelay(slot: Double, now: Double, rate: RateLimit) -> Double {
        let quantum = Self.quantum(rate)
        return max(0, ((slot - Self.lead) / quantum).rounded(.down) * quantum - now)
    }

    private func scope(of target: Target) -> RateScope {
        let key = target.destination.map { target.id + ":" + $0 } ?? target.id
        if let known = scopes[key] { return known }
        let scope = RateScope(target)
        scopes[key] = scope
        return scope
    }


    /// The breaker's answer for `key` (cached; see `gates`). `now`: the batch's clock, read once
    /// for all its attempts.
    private func gate(_ key: HashedKey, _ state: any EndpointLimits, now: Date) -> BreakerGate {
        if let cached = gates[key], cached.until > now { return cached.gate }
        guard mayCall else { return gates[key]?.gate == .paused ? .paused : .closed }
        let answer: BreakerGate
        do {
            answer = try state.gate(endpoint: key.string, probeInterval: breaker.probeInterval, token: workerID)
            succeeded()
        } catch {
            failed(error, doing: "circuit breaker")
            return .closed
        }
        let ttl: Double
        switch answer {
        case .closed: ttl = 1
        case .hold(let seconds): ttl = min(max(seconds, 0.05), breaker.probeInterval)
        case .probe: ttl = 0
        case .paused: ttl = 1
        }
        gates[key] = (answer, Date().addingTimeInterval(ttl))
        return answer
    }

    private func holdDelay(_ key: HashedKey) -> Double {
        guard let cached = gates[key], case .hold(let seconds) = cached.gate else { return breaker.probeInterval }
        return min(max(seconds, 0.5), breaker.probeInterval)
    }

    /// Counts outcomes for the breaker.
    func note(_ notes: [DeliveryLedger.Note]) {
        guard state != nil else { return }
        // Through pointers: `for note in notes` copied each note (its target and strings
        // retained), and so did passing one borrowed to a method.
        notes.withUnsafeBufferPointer { notes in
            guard let first = notes.baseAddress else { return }
            for index in notes.indices { note(one: first + index) }
        }
    }

    private func note(one note: UnsafePointer<DeliveryLedger.Note>) {
        guard let target = note.pointee.target else { return }
        switch note.pointee.kind {
        case .delivered:
            guard keepTally(for: target.breakerHashedKey) else { return }
            tally(target) { $0.succeeded() }
        case .retry, .dead:
            // Only a request's answer or failure says anything about the endpoint: a delivery
            // held past its longest hold, or refused before sending, was never sent.
            let lastError: String
            switch note.pointee.cause {
            case .answered: lastError = "HTTP \(note.pointee.status)"
            case .failed(let failure): lastError = note.pointee.reason ?? "no answer (\(failure.rawValue))"
            case .notSent, .heldTooLong: return
            }
            guard keepTally(for: target.breakerHashedKey) else { return }
            tally(target) { $0.failed(lastError) }
        default:
            return
        }
    }

    /// Changes `target`'s tally in place, made first if it has none. Not through
    /// `tallies[key, default: ...]`: that form allocated a context for its default at every
    /// delivery (seen with the `swift_allocObject` probe).
    private func tally(_ target: Target, _ change: (inout Tally) -> Void) {
        if let index = tallies.index(forKey: target.breakerHashedKey) {
            change(&tallies.values[index])
        } else {
            var tally = Tally(endpoint: target.name)
            change(&tally)
            tallies[target.breakerHashedKey] = tally
        }
    }

    /// Whether an outcome for `key` may be tallied: always for a key already tallied, else
    /// while fewer than `maxTallyKeys` wait to be written. A drop is counted and logged at most
    /// once a minute.
    private func keepTally(for key: HashedKey) -> Bool {
        // The count first: below the cap (always, but in an outage of many endpoints) no lookup,
        // which also copied the tally out (retaining its strings), at every delivery.
        if tallies.count < Self.maxTallyKeys || tallies.index(forKey: key) != nil { return true }
        droppedTallies += 1
        droppedTallyTotal += 1
        if Date().timeIntervalSince(droppedWarnedAt) >= 60 {
            droppedWarnedAt = Date()
            logger.warning("breaker outcomes dropped: too many endpoints' outcomes wait for Redis to be written", metadata: [
                "dropped": "\(droppedTallies)", "kept_keys": "\(tallies.count)", "last_failure": "\(lastFailure)"])
            droppedTallies = 0
        }
        return false
    }

    /// When `flush` next has outcomes to write and may write them; nil when it has none. The
    /// dispatcher wakes for it while idle: outcomes counted just before the traffic stops would
    /// otherwise wait for the next delivery, and a failing endpoint's breaker stay closed.
    var flushDueAt: Date? {
        guard state != nil, !tallies.isEmpty else { return nil }
        return max(nextFlush, quietUntil ?? .distantPast)
    }

    /// Writes the counted outcomes to Redis; logs, counts and announces the transitions this
    /// worker caused. What cannot be written now is kept for the next round.
    func flush() {
        guard let state, !tallies.isEmpty, Date() >= nextFlush, mayCall else { return }
        nextFlush = Date().addingTimeInterval(Self.flushInterval)
        let batch = tallies
        tallies.removeAll(keepingCapacity: true)
        var unwritten: [(HashedKey, Tally)] = []
        for (key, tally) in batch {
            guard unwritten.isEmpty else {
                unwritten.append((key, tally))
                continue
            }
            let name = key.string
            let record: BreakerRecord
            do {
                record = try state.record(endpoint: name, successes: tally.successes, failures: tally.failures,
                                          failuresSinceSuccess: tally.failuresSinceSuccess, lastError: tally.lastError,
                                          threshold: breaker.failures, probeInterval: breaker.probeInterval)
                succeeded()
            } catch {
                failed(error, doing: "breaker tallies")
                unwritten.append((key, tally))
                continue
            }
            switch record.transition {
            case .none: continue
            case .opened:
                logger.warning("endpoint opened: deliveries are held (no tries spent) and probed", metadata: [
                    "endpoint": "\(name)", "consecutive_failures": "\(record.consecutiveFailures)",
                    "last_error": "\(tally.lastError ?? "")", "probe_every": "\(breaker.probeInterval)s"])
                gates[key] = nil
            case .closed:
                logger.info("endpoint closed: a probe succeeded; held deliveries are released", metadata: ["endpoint": "\(name)"])
                gates[key] = (.closed, Date().addingTimeInterval(1))
            }
            counter(record.transition.rawValue, tally.endpoint).increment()
            announce(tally.endpoint, opened: record.transition == .opened, lastError: tally.lastError)
        }
        // Outcomes noted during the failed calls came after the unwritten ones.
        for (key, earlier) in unwritten {
            var kept = earlier
            if let later = tallies[key] { kept.absorb(later) }
            tallies[key] = kept
        }
    }

    /// Builds the `endpoint_opened` / `endpoint_closed` event for the endpoints the affected one
    /// names in `notify`.
    private func announce(_ name: String, opened: Bool, lastError: String?) {
        let targets = configuration.targets
        guard let spec = targets.first(where: { $0.name == name })?.spec, !spec.notify.isEmpty else { return }
        var fields: [(String, JSONValue)] = [("endpoint", .string(name))]
        if let lastError { fields.append(("last_error", .string(lastError))) }
        guard let event = try? JSONValue.event(action: opened ? "endpoint_opened" : "endpoint_closed", username: name,
                                               fields: fields, now: Date().timeIntervalSince1970) else { return }
        for target in targets where spec.notify.contains(target.name) {
            announcements.append((target, event))
        }
    }

    func takeAnnouncements() -> [(target: Target, event: [UInt8])] {
        defer { announcements.removeAll() }
        return announcements
    }

    private func counter(_ state: String, _ endpoint: String) -> Counter {
        let key = state + "|" + endpoint
        if let counter = transitions[key] { return counter }
        let counter = Counter(label: MetricNames.breakerTransitions, dimensions: [("endpoint", endpoint), ("state", state)])
        transitions[key] = counter
        return counter
    }
}
