/// The delivery rules of one worker, as a state machine without I/O.
///
/// Two entry points: `admit` takes what the queue handed over and returns the attempts to send
/// plus the events already decided (malformed, forged, for a removed endpoint, crashed too
/// often, deferred); `complete` takes the end of one request and returns the events whose every
/// target is now decided. Each decided event comes out as a `Settlement`: its exact stored bytes
/// and the writes it needs (retry, requeue, dead letter), for one fenced atomic settle.
///
/// Single owner: one thread holds the ledger and calls both entry points; the taker and HTTP
/// threads only pass it data. Time is passed in (`now`, Unix seconds) and only stamps dead
/// letters and fills a missing `enqueued_at`; due times are relative delays that Redis turns
/// into absolute ones on its own clock.
public struct DeliveryLedger: Sendable {
    /// The rules' parameters, from the configuration.
    public struct Settings: Sendable {
        /// The configured targets; items naming any other are never delivered.
        public var targets: [Target]
        public var retry: RetryPolicy
        /// WEBHOOK_MAX_PAYLOAD_BYTES.
        public var maxPayloadBytes: Int
        /// WEBHOOK_MAX_CRASHES: an item whose holders died this often becomes a dead letter.
        public var maxCrashes: Int
        /// A target whose unresolved attempts run this far ahead of the least loaded other target
        /// has its new deliveries deferred (half of WEBHOOK_MAX_INFLIGHT).
        public var laggardSlack: Int
        /// Seconds a deferred delivery waits (the poll interval).
        public var deferDelay: Double

        public init(targets: [Target], retry: RetryPolicy, maxPayloadBytes: Int, maxCrashes: Int,
                    laggardSlack: Int, deferDelay: Double) {
            self.targets = targets
            self.retry = retry
            self.maxPayloadBytes = maxPayloadBytes
            self.maxCrashes = maxCrashes
            self.laggardSlack = laggardSlack
            self.deferDelay = deferDelay
        }
    }

    /// One request's worth of work for one target: what the request builder needs.
    public struct Attempt: Sendable {
        public let eventID: UInt64
        public let target: Target
        /// Failed attempts before this one (the `tries` in the body).
        public let tries: Int
        public let webhookID: String
        public let event: Event
        let rateLimits: Int
        let rateLimitedFor: Int

        /// An attempt outside any ledger (request-builder tests).
        public init(eventID: UInt64, target: Target, tries: Int, webhookID: String, event: Event) {
            self.init(eventID: eventID, target: target, tries: tries, webhookID: webhookID, event: event,
                      rateLimits: 0, rateLimitedFor: 0)
        }

        init(eventID: UInt64, target: Target, tries: Int, webhookID: String, event: Event,
             rateLimits: Int, rateLimitedFor: Int) {
            self.eventID = eventID
            self.target = target
            self.tries = tries
            self.webhookID = webhookID
            self.event = event
            self.rateLimits = rateLimits
            self.rateLimitedFor = rateLimitedFor
        }
    }

    /// What happened, for logs and metrics (the ledger itself does neither).
    public struct Note: Sendable, Equatable {
        public enum Kind: String, Sendable {
            case delivered, retry, deferred, rateLimited, handedBack, dead, rejected
        }
        public let kind: Kind
        public let target: Target?
        public let webhookID: String?
        /// The HTTP status of the attempt, 0 when there was none.
        public let status: Int
        /// Why, for dead letters and rejected items.
        public let reason: String?
    }

    /// The result of `admit`.
    public struct Admission: Sendable {
        public var attempts: [Attempt] = []
        public var settlements: [Settlement] = []
        public var notes: [Note] = []
    }

    /// The result of `complete`.
    public struct Completion: Sendable {
        public var settlements: [Settlement] = []
        public var notes: [Note] = []

        public init() {}
    }

    private struct Held {
        let ack: [UInt8]
        let event: Event
        var pending: Int
        var outcomes: [Settlement.Outcome]
    }

    public let settings: Settings
    private let authenticator: ItemAuthenticator
    /// Finds the target of a stored delivery (ids of earlier releases, the URL fence).
    private let directory: TargetDirectory
    private var held: [UInt64: Held] = [:]
    private var requests: [UInt64: [Attempt]] = [:]
    /// Attempts admitted and not yet completed, per target id.
    private var backlog: [String: Int] = [:]
    private var nextEventID: UInt64 = 0

    public init(settings: Settings, authenticator: ItemAuthenticator) {
        self.settings = settings
        self.authenticator = authenticator
        self.directory = TargetDirectory(targets: settings.targets, authenticator: authenticator)
    }

    /// Events admitted and not yet settled.
    public var heldEvents: Int { held.count }

    /// Attempts admitted and not yet completed for `target`.
    public func backlog(of target: Target) -> Int { backlog[target.id, default: 0] }

    // MARK: Entry 1: admit

    /// Admits items exactly as they were stored in the processing list.
    public mutating func admit(_ items: [[UInt8]], now: Double) -> Admission {
        var admission = Admission()
        admission.attempts.reserveCapacity(items.count * settings.targets.count)
        for stored in items { admit(stored, now: now, into: &admission) }
        return admission
    }

    private mutating func admit(_ stored: [UInt8], now: Double, into admission: inout Admission) {
        let (item, crashes) = QueueItem.parse(stored, authenticator: authenticator)
        if crashes >= settings.maxCrashes {
            let payload: ArraySlice<UInt8>
            switch item {
            case .event(_, let raw): payload = raw
            case .delivery(let delivery): payload = delivery.raw
            case .forged: payload = stored[...]
            }
            reject(stored, payload: payload, now: now, into: &admission,
                   reason: "the worker holding this item died \(crashes) time\(crashes == 1 ? "" : "s") "
                       + "(WEBHOOK_MAX_CRASHES=\(settings.maxCrashes)); set aside so it cannot stop the fleet again")
            return
        }
        switch item {
        case .forged:
            reject(stored, payload: stored[...], now: now, into: &admission,
                   reason: "forged or corrupted internal item: its authentication code does not verify "
                       + "(written by a producer, or by workers with another WEBHOOK_ITEM_KEY); not delivered")
        case .event(let tag, let raw):
            let event: Event
            do {
                event = try Event.parse(raw, maxBytes: settings.maxPayloadBytes, now: now)
            } catch {
                reject(stored, payload: raw, now: now, into: &admission, reason: "malformed event: \(error.reason)",
                       oversize: { if case .tooLarge = error { return true } else { return false } }())
                return
            }
            let digest = authenticator.eventDigest(tag: tag ?? Array(RandomToken.make(16).utf8)[...], raw: raw)
            // An endpoint that does not subscribe to this action gets no delivery at all.
            let subscribed = settings.targets.filter { $0.accepts(event.action) }
            let id = newEvent(ack: stored, event: event, pending: subscribed.count)
            for target in subscribed {
                let attempt = Attempt(eventID: id, target: target, tries: 0,
                                      webhookID: ItemAuthenticator.webhookID(digest: digest, target: target),
                                      event: event, rateLimits: 0, rateLimitedFor: 0)
                schedule(attempt, into: &admission)
            }
            finishIfDone(id, into: &admission.settlements)
        case .delivery(let delivery):
            let target: Target
            switch directory.resolve(id: delivery.targetID, fingerprint: delivery.urlFingerprint) {
            case .target(let found):
                target = found
            case .urlChanged(let named):
                // The fence: a retry goes only to the URL it was made for.
                reject(stored, payload: delivery.raw, now: now, into: &admission, target: named,
                       webhookID: delivery.webhookID, attempts: delivery.tries,
                       reason: "endpoint '\(named.name)' has another URL than when this delivery was made; "
                           + "not sent to the new URL (`webhook-worker dead replay` sends it there)")
                return
            case .ambiguous(let candidates):
                reject(stored, payload: delivery.raw, now: now, into: &admission, targetID: delivery.targetID,
                       webhookID: delivery.webhookID, attempts: delivery.tries,
                       reason: "endpoint \(delivery.targetID) could be any of \(candidates.map { "'\($0.name)'" }.joined(separator: ", ")); "
                           + "not sent (`webhook-worker dead replay --to NAME` sends it to one)")
                return
            case .unknown:
                reject(stored, payload: delivery.raw, now: now, into: &admission, targetID: delivery.targetID,
                       webhookID: delivery.webhookID, attempts: delivery.tries,
                       reason: "endpoint \(delivery.targetID) is no longer configured; the delivery was pending for it "
                           + "(`webhook-worker dead replay --to NAME` sends it to another endpoint)")
                return
            }
            let event: Event
            do {
                event = try Event.parse(delivery.raw, maxBytes: settings.maxPayloadBytes, now: now)
            } catch {
                reject(stored, payload: delivery.raw, now: now, into: &admission, target: target,
                       reason: "malformed event: \(error.reason)",
                       oversize: { if case .tooLarge = error { return true } else { return false } }())
                return
            }
            let id = newEvent(ack: stored, event: event, pending: 1)
            schedule(Attempt(eventID: id, target: target, tries: delivery.tries, webhookID: delivery.webhookID,
                             event: event, rateLimits: delivery.rateLimits, rateLimitedFor: delivery.rateLimitedFor),
                     into: &admission)
            finishIfDone(id, into: &admission.settlements)
        }
    }

    /// Sends the attempt now or, when its target lags far behind the others, defers it to the
    /// delayed set without counting a try: a hung endpoint must not fill the worker's room and
    /// hold back the endpoints that answer. Healthy targets move in step, so this only trips
    /// for one that lags.
    private mutating func schedule(_ attempt: Attempt, into admission: inout Admission) {
        let mine = backlog[attempt.target.id, default: 0]
        var least: Int?
        for target in settings.targets where target.id != attempt.target.id {
            least = min(least ?? .max, backlog[target.id, default: 0])
        }
        if let least, mine - least >= max(1, settings.laggardSlack) {
            record(attempt, .retry(after: settings.deferDelay, item: item(for: attempt, tries: attempt.tries)))
            admission.notes.append(Note(kind: .deferred, target: attempt.target, webhookID: attempt.webhookID,
                                        status: 0, reason: nil))
            return
        }
        backlog[attempt.target.id] = mine + 1
        admission.attempts.append(attempt)
    }

    // MARK: Waiting without a try

    /// Sends `attempt` back to the delayed set for `after` seconds without counting a try: its
    /// endpoint's rate limit or open circuit breaker says not now. Waits add up in the item;
    /// past `maxHold` seconds in all, the delivery becomes a dead letter.
    public mutating func postpone(_ attempt: Attempt, after: Double, maxHold: Double, reason: String, now: Double) -> Completion {
        var completion = Completion()
        backlog[attempt.target.id, default: 1] -= 1
        guard let heldEvent = held[attempt.eventID] else { return completion }
        let waited = attempt.rateLimitedFor + Int(after.rounded(.up))
        if Double(waited) > maxHold {
            let why = "held for more than \(Int(maxHold)) s: \(reason)"
            let letter = DeadLetter(payload: heldEvent.event.bytes, target: attempt.target, webhookID: attempt.webhookID,
                                    attempts: attempt.tries, failedAt: now, reason: why)
            record(attempt, .dead(entry: letter.encoded()))
            completion.notes.append(Note(kind: .dead, target: attempt.target, webhookID: attempt.webhookID, status: 0, reason: why))
        } else {
            record(attempt, .retry(after: after, item: item(for: attempt, tries: attempt.tries,
                                                            rateLimits: attempt.rateLimits, rateLimitedFor: waited)))
            completion.notes.append(Note(kind: .deferred, target: attempt.target, webhookID: attempt.webhookID, status: 0, reason: reason))
        }
        finishIfDone(attempt.eventID, into: &completion.settlements)
        return completion
    }

    // MARK: Requests

    /// Records which attempts one request carries (one, or a Marzban-mode batch).
    public mutating func track(request token: UInt64, attempts: [Attempt]) {
        requests[token] = attempts
    }

    /// The target of the request `token`, while it is tracked (before `complete`).
    public func target(ofRequest token: UInt64) -> Target? {
        requests[token]?.first?.target
    }

    // MARK: Entry 2: complete

    /// Decides every attempt the request `token` carried.
    public mutating func complete(request token: UInt64, result: AttemptResult, now: Double,
                                  random: inout some RandomNumberGenerator) -> Completion {
        var completion = Completion()
        complete(request: token, result: result, now: now, random: &random, into: &completion)
        return completion
    }

    /// `complete(request:result:now:random:)`, appending to `completion`: a caller completing
    /// many requests reuses one pair of arrays instead of allocating two per request.
    public mutating func complete(request token: UInt64, result: AttemptResult, now: Double,
                                  random: inout some RandomNumberGenerator, into completion: inout Completion) {
        guard let attempts = requests.removeValue(forKey: token) else { return }
        let status: Int
        switch result {
        case .status(let code, _, _): status = code
        default: status = 0
        }
        for attempt in attempts {
            backlog[attempt.target.id, default: 1] -= 1
            guard let heldEvent = held[attempt.eventID] else { continue }
            let outcome: Settlement.Outcome?
            let note: Note.Kind
            var reason: String?
            if case .cancelled = result {
                // Handed back at shutdown: not an attempt, so nothing is counted.
                outcome = .requeue(item: item(for: attempt, tries: attempt.tries))
                note = .handedBack
            } else {
                switch settings.retry.decide(tries: attempt.tries, rateLimits: attempt.rateLimits,
                                             rateLimitedFor: Double(attempt.rateLimitedFor), result: result,
                                             rateLimitsBy429: attempt.target.kind != .webhook, random: &random) {
                case .delivered:
                    outcome = nil
                    note = .delivered
                case .retry(let after, let tries):
                    outcome = .retry(after: after, item: item(for: attempt, tries: tries))
                    note = .retry
                case .rateLimited(let after):
                    let waited = attempt.rateLimitedFor + Int(after.rounded(.up))
                    outcome = .retry(after: after, item: item(for: attempt, tries: attempt.tries,
                                                              rateLimits: attempt.rateLimits + 1, rateLimitedFor: waited))
                    note = .rateLimited
                case .dead(let why):
                    var lastError: String?
                    if case .transportError(let message) = result { lastError = message }
                    let letter = DeadLetter(payload: heldEvent.event.bytes, target: attempt.target,
                                            webhookID: attempt.webhookID, attempts: attempt.tries + 1,
                                            lastStatus: status > 0 ? status : nil, lastError: lastError,
                                            failedAt: now, reason: why)
                    outcome = .dead(entry: letter.encoded())
                    note = .dead
                    reason = why
                }
            }
            completion.notes.append(Note(kind: note, target: attempt.target, webhookID: attempt.webhookID,
                                         status: status, reason: reason))
            record(attempt, outcome)
            finishIfDone(attempt.eventID, into: &completion.settlements)
        }
    }

    // MARK: Helpers

    private mutating func newEvent(ack: [UInt8], event: Event, pending: Int) -> UInt64 {
        nextEventID &+= 1
        held[nextEventID] = Held(ack: ack, event: event, pending: pending, outcomes: [])
        return nextEventID
    }

    private mutating func record(_ attempt: Attempt, _ outcome: Settlement.Outcome?) {
        guard var event = held[attempt.eventID] else { return }
        if let outcome { event.outcomes.append(outcome) }
        event.pending -= 1
        held[attempt.eventID] = event
    }

    private mutating func finishIfDone(_ id: UInt64, into settlements: inout [Settlement]) {
        guard let event = held[id], event.pending <= 0 else { return }
        held.removeValue(forKey: id)
        settlements.append(Settlement(ack: event.ack, outcomes: event.outcomes))
    }

    /// An item that cannot be delivered becomes a dead letter at once: retrying cannot fix it.
    private mutating func reject(_ stored: [UInt8], payload: ArraySlice<UInt8>, now: Double, into admission: inout Admission,
                                 target: Target? = nil, targetID: String? = nil, webhookID: String? = nil, attempts: Int = 0,
                                 reason: String, oversize: Bool = false) {
        var letter: DeadLetter
        if oversize || payload.count > settings.maxPayloadBytes {
            letter = DeadLetter.oversize(payload, failedAt: now, reason: reason)
        } else {
            letter = DeadLetter(payload: Array(payload), target: target, webhookID: webhookID, attempts: attempts,
                                failedAt: now, reason: reason)
            // An endpoint this configuration lacks keeps its id, so a plain replay finds it again
            // once it is configured.
            if target == nil, let targetID { letter.targetID = targetID }
        }
        admission.settlements.append(Settlement(ack: stored, outcomes: [.dead(entry: letter.encoded())]))
        admission.notes.append(Note(kind: .rejected, target: target, webhookID: webhookID, status: 0, reason: reason))
    }

    private func item(for attempt: Attempt, tries: Int, rateLimits: Int = 0, rateLimitedFor: Int = 0) -> [UInt8] {
        QueueItem.encode(Delivery(webhookID: attempt.webhookID, tries: tries, targetID: attempt.target.id,
                                  urlFingerprint: directory.fingerprint(of: attempt.target),
                                  rateLimits: rateLimits, rateLimitedFor: rateLimitedFor, raw: attempt.event.bytes[...]),
                         authenticator: authenticator)
    }
}
