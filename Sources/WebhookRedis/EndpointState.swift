import Foundation
import WebhookCore
import WebhookQueue

/// Per-endpoint state shared by the whole fleet: the rate limit (GCRA), the circuit breaker,
/// pause flags and recent outcome counts. Keys are in `EndpointKeys.swift`, scripts in
/// `EndpointScripts.swift`; every time is Redis' own.
///
/// The Redis `EndpointLimits` driver: what the worker's guard calls (`reserve`, `gate`,
/// `record`) throws `QueueError`, mapped from the `RedisError` once (`QueueError.init(_:)`); the
/// operators' calls (`pause`, `resume`, `status`, `history`) keep `RedisError`.
///
/// Owns one connection, opened on first use and reopened on the call after a connection error;
/// the caller decides about backoff. Not thread-safe: one per thread, like `RedisQueue`.
public final class EndpointState: EndpointLimits {
    private let keys: EndpointKeys
    private let connection: LazyConnection
    /// SHA1 of each loaded script by name; kept across reconnects, re-sent by EVAL on NOSCRIPT.
    private var scriptSHAs: [String: String] = [:]

    /// Connects lazily: creating it never fails, the first call reports an unreachable Redis.
    /// - Parameter readTimeout: seconds one reply may take before the call fails.
    public init(url: RedisURL, prefix: String, readTimeout: Double = RedisConnection.defaultReadTimeout) {
        self.keys = EndpointKeys(prefix: prefix)
        self.connection = LazyConnection(url: url, readTimeout: readTimeout)
    }

    // MARK: Redis's clock

    /// Redis's clock minus this process's, in seconds, from the last reply that carried Redis's
    /// time (`reserve`, `acquire`, `gate`); nil before the first. Measured when the reply
    /// arrives, so it errs by up to one round trip on the early side: a time computed with it is
    /// never ahead of Redis's.
    public private(set) var clockOffset: Double?

    private func noteRedisTime(_ seconds: Double) {
        clockOffset = seconds - Date().timeIntervalSince1970
    }

    // MARK: Rate limit

    /// Reserves one slot per entry of `heldSince` under `rate`, for the whole fleet, in one call:
    /// slots are `rate.interval` apart, so no window of one period ever holds more than
    /// `rate.count`. An entry whose slot would hold it more than `maxHold` seconds since it was
    /// first held gets none (and takes none from the others).
    /// - Parameter heldSince: per request, since when it has been held (Redis's clock, Unix
    ///   seconds), or 0 when it has not been.
    public func reserve(_ scope: RateScope, rate: RateLimit, maxHold: Double, heldSince: [Double]) throws(QueueError) -> RateReservation {
        try mapped { () throws(RedisError) in try reserveSlots(scope, rate: rate, maxHold: maxHold, heldSince: heldSince) }
    }

    private func reserveSlots(_ scope: RateScope, rate: RateLimit, maxHold: Double, heldSince: [Double]) throws(RedisError) -> RateReservation {
        var args = [String(max(1, Int((rate.interval * 1_000_000).rounded(.up)))),
                    String(Int(min(max(0, maxHold), 1e12) * 1_000_000))]
        args.reserveCapacity(heldSince.count + 2)
        for since in heldSince { args.append(since > 0 ? String(Int(since * 1_000_000)) : "0") }
        let reply = try run(EndpointScripts.reserve, keys: [keys.rate(scope)], args: args)
        guard let parts = reply.array, parts.count == heldSince.count + 1, let now = parts[0].integer else {
            throw unexpected(EndpointScripts.reserve, reply)
        }
        var slots: [RateReservation.Slot] = []
        slots.reserveCapacity(heldSince.count)
        for part in parts.dropFirst() {
            guard let micros = part.integer else { throw unexpected(EndpointScripts.reserve, reply) }
            slots.append(micros >= 0 ? .granted(in: Double(micros) / 1_000_000) : .refused(wait: Double(-micros) / 1_000_000))
        }
        let redisNow = Double(now) / 1_000_000
        noteRedisTime(redisNow)
        return RateReservation(now: redisNow, slots: slots)
    }

    /// Asks for one request's slot to `endpoint` under `rate` now: granted, or the seconds until
    /// the next free slot (nothing is reserved then). `reserve` with a hold of zero.
    public func acquire(endpoint: String, rate: RateLimit) throws(QueueError) -> RateDecision {
        let answer = try reserve(.endpoint(endpoint), rate: rate, maxHold: 0, heldSince: [0])
        switch answer.slots[0] {
        case .granted: return .granted(at: answer.now)
        case .refused(let wait): return .wait(wait)
        }
    }

    // MARK: Circuit breaker

    /// Records delivery outcomes for `endpoint` (one call per settled batch is enough).
    /// - Parameters:
    ///   - successes: 2xx answers in the batch.
    ///   - failures: failed attempts in the batch.
    ///   - failuresSinceSuccess: failures after the batch's last success; ignored (all failures
    ///     count) when there was no success. Defaults to `failures`.
    ///   - lastError: short, redacted description of the last failure (e.g. `HTTP 503`).
    ///   - threshold: WEBHOOK_BREAKER_FAILURES: consecutive failures that open the breaker.
    ///   - probeInterval: WEBHOOK_BREAKER_PROBE seconds: the first probe after opening waits this long.
    /// - Returns: the breaker after recording; `transition` tells the one caller that opened or
    ///   closed it.
    public func record(endpoint: String, successes: Int, failures: Int, failuresSinceSuccess: Int? = nil,
                       lastError: String? = nil, threshold: Int, probeInterval: Double) throws(QueueError) -> BreakerRecord {
        try mapped { () throws(RedisError) in
            try recordOutcomes(endpoint: endpoint, successes: successes, failures: failures,
                               failuresSinceSuccess: failuresSinceSuccess, lastError: lastError, threshold: threshold,
                               probeInterval: probeInterval)
        }
    }

    private func recordOutcomes(endpoint: String, successes: Int, failures: Int, failuresSinceSuccess: Int?,
                                lastError: String?, threshold: Int, probeInterval: Double) throws(RedisError) -> BreakerRecord {
        let trailing = successes > 0 ? min(failuresSinceSuccess ?? failures, failures) : failures
        let reply = try run(EndpointScripts.record, keys: [keys.breaker(endpoint), keys.stats(endpoint), keys.probe(endpoint)],
                            args: [String(max(0, successes)), String(max(0, failures)), String(max(0, trailing)),
                                   String(max(1, threshold)), String((lastError ?? "").prefix(500)), Self.milliseconds(probeInterval)])
        guard let parts = reply.array, parts.count == 3, let name = parts[0].text,
              let transition = BreakerRecord.Transition(rawValue: name),
              let count = parts[1].integer, let opened = parts[2].integer else {
            throw unexpected(EndpointScripts.record, reply)
        }
        return BreakerRecord(transition: transition, consecutiveFailures: count,
                             openedAt: opened > 0 ? Double(opened) / 1000 : nil)
    }

    /// Whether the next delivery to `endpoint` may go: closed, paused, this caller's probe,
    /// or hold. Of all callers during one `probeInterval`, exactly one gets `.probe`.
    /// - Parameter token: who probes (e.g. the worker ID), stored in the probe slot for debugging.
    public func gate(endpoint: String, probeInterval: Double, token: String) throws(QueueError) -> BreakerGate {
        try mapped { () throws(RedisError) in try askGate(endpoint: endpoint, probeInterval: probeInterval, token: token) }
    }

    private func askGate(endpoint: String, probeInterval: Double, token: String) throws(RedisError) -> BreakerGate {
        let reply = try run(EndpointScripts.gate, keys: [keys.breaker(endpoint), keys.probe(endpoint)],
                            args: [Self.milliseconds(probeInterval), token])
        guard let parts = reply.array, parts.count == 3, let name = parts[0].text, let value = parts[1].integer,
              let now = parts[2].integer else {
            throw unexpected(EndpointScripts.gate, reply)
        }
        noteRedisTime(Double(now) / 1000)
        switch name {
        case "closed": return .closed
        case "paused": return .paused
        case "probe": return .probe
        case "hold": return .hold(Double(value) / 1000)
        default: throw unexpected(EndpointScripts.gate, reply)
        }
    }

    /// Pauses deliveries to `endpoint` fleet-wide (held like an open breaker).
    /// - Returns: false when it was already paused.
    @discardableResult
    public func pause(endpoint: String) throws(RedisError) -> Bool {
        try run(EndpointScripts.pause, keys: [keys.breaker(endpoint)], args: ["1"]).integer == 1
    }

    /// Lifts a pause. An open breaker stays open until a probe succeeds.
    /// - Returns: false when it was not paused.
    @discardableResult
    public func resume(endpoint: String) throws(RedisError) -> Bool {
        try run(EndpointScripts.pause, keys: [keys.breaker(endpoint)], args: ["0"]).integer == 1
    }

    /// The shared state of `endpoint` (ok for an endpoint never seen).
    public func status(endpoint: String) throws(RedisError) -> EndpointStatus {
        let reply = try run(EndpointScripts.status, keys: [keys.breaker(endpoint), keys.stats(endpoint)], args: [])
        guard let parts = reply.array, parts.count == 4, let pairs = parts[0].array,
              let successes = parts[1].integer, let failures = parts[2].integer, let now = parts[3].integer else {
            throw unexpected(EndpointScripts.status, reply)
        }
        var fields: [String: String] = [:]
        for index in stride(from: 0, to: pairs.count - 1, by: 2) {
            if let key = pairs[index].text, let value = pairs[index + 1].text { fields[key] = value }
        }
        func seconds(_ field: String) -> Double? { fields[field].flatMap(Double.init).map { $0 / 1000 } }
        let openedAt = seconds("opened_at")
        let state: EndpointStatus.State
        if fields["paused"] != nil {
            state = .paused(since: seconds("paused_at") ?? Double(now) / 1000)
        } else if let openedAt {
            state = .open(since: openedAt)
        } else {
            state = .ok
        }
        return EndpointStatus(state: state, openedAt: openedAt, consecutiveFailures: fields["failures"].flatMap { Int($0) } ?? 0,
                              lastError: fields["last_error"], lastErrorAt: seconds("last_error_at"),
                              lastSuccessAt: seconds("last_success_at"), recentSuccesses: successes,
                              recentFailures: failures, readAt: Double(now) / 1000)
    }

    /// `endpoint`'s successes and failures per minute over the last hour (Redis's clock): one
    /// pipeline of `TIME` and `HGETALL` of its stats hash.
    public func history(endpoint: String) throws(RedisError) -> EndpointHistory {
        let replies = try connection.run { connection throws(RedisError) in
            try connection.pipeline([["TIME"], ["HGETALL", keys.stats(endpoint)]].map { $0.map { Array($0.utf8) } })
        }
        guard replies.count == 2, let time = replies[0].array, time.count == 2,
              let seconds = time[0].text.flatMap(Double.init), let pairs = replies[1].array else {
            throw RedisError(call: "TIME/HGETALL", message: "unexpected reply \(replies)", isConnectionError: false)
        }
        var fields: [(String, Int)] = []
        for index in stride(from: 0, to: pairs.count - 1, by: 2) {
            if let key = pairs[index].text, let value = pairs[index + 1].text.flatMap({ Int($0) }) { fields.append((key, value)) }
        }
        return EndpointHistory(fields: fields, now: seconds)
    }

    // MARK: Plumbing

    /// Runs one of the guard's calls, mapping its error at the driver boundary.
    private static func milliseconds(_ seconds: Double) -> String {
        String(max(1, Int((seconds * 1000).rounded())))
    }

    private func run(_ script: LuaScript, keys: [String], args: [String]) throws(RedisError) -> RedisReply {
        try connection.runScript(script, keys: keys, args: args.map { Array($0.utf8) }, shas: &scriptSHAs)
    }

    private func unexpected(_ script: LuaScript, _ reply: RedisReply) -> RedisError {
        RedisError(call: "EVALSHA(\(script.name))", message: "unexpected reply \(reply)", isConnectionError: false)
    }
}
