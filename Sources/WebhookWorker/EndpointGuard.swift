import Foundation
import Logging
import Metrics
import WebhookCore
import WebhookRedis

/// The fleet-wide limits in front of each endpoint, kept in Redis so that all workers share them:
/// the rate limit (`rate: N/s`, a GCRA on Redis's clock) and the circuit breaker (opens after
/// `WEBHOOK_BREAKER_FAILURES` consecutive failures; then one probe per `WEBHOOK_BREAKER_PROBE`
/// seconds, fleet-wide, and the first success closes it). What either says "not now" to waits
/// in the delayed set without spending a try. Owned by the dispatcher thread.
///
/// Without Redis state (the in-memory queue of tests) everything passes.
final class EndpointGuard {
    private let state: EndpointState?
    private let configuration: Configuration
    private let workerID: String
    private let logger: Logger
    private var breaker: BreakerConfiguration { configuration.endpoints.breaker }
    /// The last gate answer per endpoint and until when it holds: one Redis call per endpoint per
    /// second at most while the breaker is closed.
    private var gates: [String: (gate: BreakerGate, until: Date)] = [:]
    /// Outcomes since the last `flush`, per endpoint name.
    private var tallies: [String: Tally] = [:]
    private var transitions: [String: Counter] = [:]
    /// Outcomes are written at most this often: one script call per endpoint per round, not per
    /// dispatcher iteration (thousands a second at full speed).
    private static let flushInterval = 0.25
    private var nextFlush = Date.distantPast
    /// Notifications to enqueue (breaker opened/closed), drained by the dispatcher.
    private(set) var announcements: [(target: Target, event: [UInt8])] = []

    private struct Tally {
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
    }

    init(state: EndpointState?, configuration: Configuration, workerID: String, logger: Logger) {
        self.state = state
        self.configuration = configuration
        self.workerID = workerID
        self.logger = logger
    }

    /// Splits attempts into those that may go now and those that must wait (and how long).
    func admit(_ attempts: [DeliveryLedger.Attempt]) -> (send: [DeliveryLedger.Attempt], wait: [(DeliveryLedger.Attempt, Double, String)]) {
        guard let state else { return (attempts, []) }
        var send: [DeliveryLedger.Attempt] = []
        var wait: [(DeliveryLedger.Attempt, Double, String)] = []
        send.reserveCapacity(attempts.count)
        var probing: Set<String> = []
        for attempt in attempts {
            let name = attempt.target.name
            switch gate(name, state) {
            case .closed:
                break
            case .probe where !probing.contains(name):
                probing.insert(name)  // one probe; the rest of this batch waits for its answer
                gates[name] = (.hold(breaker.probeInterval), Date().addingTimeInterval(breaker.probeInterval))
            case .probe, .hold:
                wait.append((attempt, holdDelay(name), "endpoint \(name) is open (circuit breaker)"))
                continue
            case .paused:
                wait.append((attempt, breaker.probeInterval, "endpoint \(name) is paused"))
                continue
            }
            if let rate = attempt.target.spec?.rate {
                do {
                    if case .wait(let seconds) = try state.acquire(endpoint: name, rate: rate) {
                        wait.append((attempt, max(0.05, seconds), "endpoint \(name) is at its rate limit (\(rate))"))
                        continue
                    }
                } catch {
                    // Redis is failing: let it wait a little rather than exceed the limit.
                    wait.append((attempt, 1, "rate limit unavailable: \(error.message)"))
                    continue
                }
            }
            send.append(attempt)
        }
        return (send, wait)
    }

    private func gate(_ name: String, _ state: EndpointState) -> BreakerGate {
        if let cached = gates[name], cached.until > Date() { return cached.gate }
        let answer = (try? state.gate(endpoint: name, probeInterval: breaker.probeInterval, token: workerID)) ?? .closed
        let ttl: Double
        switch answer {
        case .closed: ttl = 1
        case .hold(let seconds): ttl = min(max(seconds, 0.05), breaker.probeInterval)
        case .probe: ttl = 0
        case .paused: ttl = 1
        }
        gates[name] = (answer, Date().addingTimeInterval(ttl))
        return answer
    }

    private func holdDelay(_ name: String) -> Double {
        guard let cached = gates[name], case .hold(let seconds) = cached.gate else { return breaker.probeInterval }
        return min(max(seconds, 0.5), breaker.probeInterval)
    }

    /// Counts outcomes for the breaker.
    func note(_ notes: [DeliveryLedger.Note]) {
        guard state != nil else { return }
        for note in notes {
            guard let target = note.target else { continue }
            switch note.kind {
            case .delivered:
                tallies[target.name, default: Tally()].succeeded()
            case .retry, .dead:
                guard note.reason?.hasPrefix("held for") != true else { continue }
                tallies[target.name, default: Tally()].failed(note.status > 0 ? "HTTP \(note.status)" : (note.reason ?? "no answer"))
            default:
                continue
            }
        }
    }

    /// Writes the counted outcomes to Redis; logs, counts and announces the transitions this
    /// worker caused.
    func flush() {
        guard let state, !tallies.isEmpty, Date() >= nextFlush else { return }
        nextFlush = Date().addingTimeInterval(Self.flushInterval)
        let batch = tallies
        tallies.removeAll(keepingCapacity: true)
        for (name, tally) in batch {
            guard let record = try? state.record(endpoint: name, successes: tally.successes, failures: tally.failures,
                                                 failuresSinceSuccess: tally.failuresSinceSuccess, lastError: tally.lastError,
                                                 threshold: breaker.failures,
                                                 probeInterval: breaker.probeInterval) else { continue }
            switch record.transition {
            case .none: continue
            case .opened:
                logger.warning("endpoint opened: deliveries are held (no tries spent) and probed", metadata: [
                    "endpoint": "\(name)", "consecutive_failures": "\(record.consecutiveFailures)",
                    "last_error": "\(tally.lastError ?? "")", "probe_every": "\(breaker.probeInterval)s"])
                gates[name] = nil
            case .closed:
                logger.info("endpoint closed: a probe succeeded; held deliveries are released", metadata: ["endpoint": "\(name)"])
                gates[name] = (.closed, Date().addingTimeInterval(1))
            }
            counter(record.transition.rawValue, name).increment()
            announce(name, opened: record.transition == .opened, lastError: tally.lastError)
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
