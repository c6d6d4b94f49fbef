/// The delivery rules of one worker, as a state machine without I/O.
///
/// Four inputs, each returning what to do next as a named value (as swift-nio's state machines
/// do), in the order a delivery meets them:
/// 1. `admit` (and `admitOrdered` for an ordered endpoint's claim) takes what the queue handed
///    over and returns an `Admission`: the attempts to send plus the events already decided
///    (malformed, forged, for a removed endpoint, crashed too often, deferred).
/// 2. `postpone` takes the endpoint gate's verdict "not now" on an attempt (`Postponement`:
///    breaker, pause or rate limit, read from Redis by the caller) and returns a `Completion`.
/// 3. `track` takes which attempts one built request carries, and returns the request's token
///    (its answer names it to `complete`). Why a
///    separate input: which attempts may share a request is this ledger's rule (`batches`,
///    carried as `Attempt.batched`), but the gate between `admit` and the request may hold
///    some of a batch and pace others, so the request builder (WebhookWorker; it knows
///    headers, signatures and the HTTP request) groups what passed together and tells the
///    ledger, which decides them all from one answer.
/// 4. `complete` takes the end of one request (`AttemptResult`) and returns a `Completion`: the
///    events whose every target is now decided.
/// Each decided event comes out as a `Settlement`: its exact stored bytes and the writes it
/// needs (retry, requeue, dead letter), for one fenced atomic settle. The rest are queries that
/// change nothing (`laggards`, `target(ofRequest:)`, `backlog(of:)`, `heldEvents`), and
/// `announcement`, which writes a breaker announcement's item.
///
/// Single owner: one thread holds the ledger and calls every input; the taker and HTTP threads
/// only pass it data. What the rules depend on comes in as inputs: the gate's verdicts, the
/// randomness (`random`: retry jitter, a missing tag, an announcement's id) and the time
/// (`now`): Unix seconds on Redis's clock as the
/// worker knows it (its own clock plus the offset measured from Redis's replies, see
/// `EndpointGuard`). It stamps dead letters, fills a missing `enqueued_at`, and measures holds:
/// a delivery records when it was first held (`Delivery.heldSince`), so WEBHOOK_BREAKER_MAX_HOLD
/// and WEBHOOK_RATE_LIMIT_MAX_WAIT bound the time really waited, whichever worker held it. Due
/// times are relative delays that Redis turns into absolute ones on its own clock.
///
/// The laggard rule: a target is a *laggard* when its unresolved attempts run `laggardSlack` or
/// more ahead of the least loaded other target that is *taking deliveries*: one without a rate
/// limit that answered an attempt (any answer, or a transport failure) within the last
/// `deferDelay` seconds and has not been held (rate limit, open or paused breaker) since. A
/// laggard's new deliveries are deferred to the delayed set for `deferDelay` seconds without a
/// try, so a hung endpoint cannot fill the worker's room and hold back the endpoints that
/// answer. Targets that take nothing cannot measure the others: one whose `actions:` filter out
/// these events, one that is paused or open, one not heard from lately, and one with a rate
/// limit (its pace is its limit's, not its health's), and an ordered one (its backlog is its keys'
/// in flight). With no target to compare with, nothing is
/// deferred.
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
        /// taking deliveries has its new deliveries deferred (half of WEBHOOK_MAX_INFLIGHT); see
        /// the laggard rule above.
        public var laggardSlack: Int
        /// Seconds a deferred delivery waits (the poll interval); also how recent an answer must
        /// be for its target to count as taking deliveries.
        public var deferDelay: Double
        /// WEBHOOK_COMPAT: the compat mode of endpoints that set none (see `batches`).
        public var compat: CompatMode
        /// WEBHOOK_BREAKER_MAX_HOLD: a delivery held (rate limit, breaker, pause) longer than
        /// this in all, counted from its first hold, becomes a dead letter.
        public var maxHold: Double
        /// Whether each settlement carries its attempt-log records (WEBHOOK_LOG_MAX > 0).
        public var logAttempts: Bool
        /// Secrets no endpoint has in its own spec that a response excerpt must not show
        /// (WEBHOOK_SECRET); each endpoint's own secrets, header values and bot token are added.
        public var logSecrets: [String]

        public init(targets: [Target], retry: RetryPolicy, maxPayloadBytes: Int, maxCrashes: Int,
                    laggardSlack: Int, deferDelay: Double, compat: CompatMode = .standard, maxHold: Double = 72 * 3600,
                    logAttempts: Bool = false, logSecrets: [String] = []) {
            self.compat = compat
            self.maxHold = maxHold
            self.logAttempts = logAttempts
            self.logSecrets = logSecrets
            self.targets = targets
            self.retry = retry
            self.maxPayloadBytes = maxPayloadBytes
            self.maxCrashes = maxCrashes
            self.laggardSlack = laggardSlack
            self.deferDelay = deferDelay
        }
    }

    /// Whether `target`'s attempts travel together (Marzban mode: the due events of one
    /// endpoint, and of one key for an ordered endpoint, in one request whose body is their
    /// JSON array): a webhook endpoint whose compat mode, its own or WEBHOOK_COMPAT, is
    /// `marzban`. The rule is the ledger's; the gate (a rate limit counts such a request once)
    /// and the request builder read it from `Attempt.batched`.
    public static func batches(_ target: Target, defaultCompat: CompatMode) -> Bool {
        target.kind == .webhook && (target.spec?.compat ?? defaultCompat) == .marzban
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
        /// See `Delivery.heldSince`; 0 when never held.
        public let heldSince: Double
        /// The rate-limit slot this attempt was granted (Redis's clock, Unix seconds), or 0.
        public let slot: Double
        /// For a claimed head of an ordered endpoint's key: where its outcome goes.
        public internal(set) var order: OrderRef?
        /// Whether it shares one request with its target's other attempts (and its key's, for
        /// an ordered endpoint) that pass the gate together: see `DeliveryLedger.batches`.
        public internal(set) var batched = false

        /// An attempt outside any ledger (request-builder and guard tests).
        public init(eventID: UInt64, target: Target, tries: Int, webhookID: String, event: Event,
                    heldSince: Double = 0, slot: Double = 0, batched: Bool = false) {
            self.init(eventID: eventID, target: target, tries: tries, webhookID: webhookID, event: event,
                      rateLimits: 0, heldSince: heldSince, slot: slot)
            self.batched = batched
        }

        init(eventID: UInt64, target: Target, tries: Int, webhookID: String, event: Event,
             rateLimits: Int, heldSince: Double, slot: Double) {
            self.eventID = eventID
            self.target = target
            self.tries = tries
            self.webhookID = webhookID
            self.event = event
            self.rateLimits = rateLimits
            self.heldSince = heldSince
            self.slot = slot
        }
    }

    /// An attempt's place in an ordered claim (see `admitOrdered`).
    public struct OrderRef: Sendable, Equatable {
        /// The member's index in the claim.
        public let index: Int
        /// The key; a Marzban-mode endpoint's batch never mixes keys.
        public let key: String
        /// The caller's own clock (`Date().timeIntervalSince1970`) after which the attempt must
        /// not go on the wire: its key's lease could have expired by the end of the request.
        public let sendBy: Double
    }

    /// What happened, for logs and metrics (the ledger itself does neither).
    public struct Note: Sendable, Equatable {
        public enum Kind: String, Sendable {
            case delivered, retry, deferred, rateLimited, handedBack, dead, rejected
            /// A routed endpoint (`url_from`, `chat_id_from`) got nothing: the event's field is
            /// empty or absent. Not a failure.
            case skipped
            /// A routed endpoint's destination failed its allow-list: a dead letter, never sent,
            /// and not an outage of the endpoint (the breaker does not count it).
            case refused
        }
        /// What a decision rests on, typed, so that no reader parses `reason` (the breaker
        /// counts only attempts that reached for the endpoint; spans and metrics class failures).
        public enum Cause: Sendable, Equatable {
            /// Decided without a request to the endpoint: an admission, a deferral, a hand-back,
            /// a routed endpoint's skip or refusal.
            case notSent
            /// The endpoint answered (`status` says what).
            case answered
            /// The request got no answer.
            case failed(FailureClass)
            /// Held (a rate limit, an open or paused breaker) past WEBHOOK_BREAKER_MAX_HOLD:
            /// a dead letter that was never sent, and no failure of the endpoint's.
            case heldTooLong
        }
        public let kind: Kind
        public let target: Target?
        public let webhookID: String?
        /// The HTTP status of the attempt, 0 when there was none.
        public let status: Int
        /// Why, for dead letters and rejected items.
        public let reason: String?
        public let cause: Cause

        init(kind: Kind, target: Target?, webhookID: String?, status: Int, reason: String?, cause: Cause = .notSent) {
            self.kind = kind
            self.target = target
            self.webhookID = webhookID
            self.status = status
            self.reason = reason
            self.cause = cause
        }

        /// Whether this note is a request's answer or failure: what the circuit breaker counts.
        public var reachedEndpoint: Bool {
            switch cause {
            case .answered, .failed: return true
            case .notSent, .heldTooLong: return false
            }
        }
    }

    /// The result of `admit`.
    public struct Admission: Sendable {
        public var attempts: [Attempt] = []
        public var settlements: [Settlement] = []
        public var notes: [Note] = []

        public init() {}
    }

    /// The result of `complete`.
    public struct Completion: Sendable {
        public var settlements: [Settlement] = []
        public var notes: [Note] = []

        public init() {}
    }

    private struct Held {
        var ack: [UInt8]
        var pending: Int
        var outcomes: [Settlement.Outcome]
        var log: [[UInt8]] = []
        /// A claim of an ordered key: outcomes per member (see `admitOrdered`).
        var ordered: OrderedSettlement?
        /// The ordered endpoint's `order_max_block`.
        var maxBlock: Double = 0
    }

    public let settings: Settings
    private let authenticator: ItemAuthenticator
    /// Finds the target of a stored delivery (ids of earlier releases, the URL fence).
    private let directory: TargetDirectory
    /// The events admitted and not yet settled, under the ids their attempts carry
    /// (`Attempt.eventID`).
    private var held = Slab<Held>()
    /// The attempts each request in flight carries, under the request's token.
    private var requests = Slab<Tracked>()
    /// One attempt (a request of its own), or a Marzban-mode batch: the common case needs no
    /// array per request.
    private enum Tracked {
        case one(Attempt)
        case batch([Attempt])
    }
    /// Per target (by id): what the laggard rule reads. One dictionary, so the update at each
    /// admission and each answer is one lookup (two were one for the backlog, one for activity).
    private var targetStates: [HashedKey: TargetState] = [:]
    /// Per target (by id): what its answers' excerpts must not show (see `logRecord`).
    private var excerptMasks: [HashedKey: ExcerptMask] = [:]

    private struct TargetState {
        /// Attempts admitted and not yet completed.
        var backlog = 0
        /// When the target last answered, and was last held.
        var answeredAt = -Double.infinity
        var heldAt = -Double.infinity
    }

    public init(settings: Settings, authenticator: ItemAuthenticator) {
        self.settings = settings
        self.authenticator = authenticator
        self.directory = TargetDirectory(targets: settings.targets, authenticator: authenticator)
    }

    /// Events admitted and not yet settled.
    public var heldEvents: Int { held.count }

    /// Attempts admitted and not yet completed for `target`.
    public func backlog(of target: Target) -> Int { targetStates[target.key]?.backlog ?? 0 }

    // MARK: Input 1: admit

    /// Admits items exactly as they were stored in the processing list. `random` mints the tag
    /// of an event that came without one (the take script tags every event; only items written
    /// past it lack one).
    public mutating func admit(_ items: [[UInt8]], now: Double, random: inout some RandomNumberGenerator) -> Admission {
        var admission = Admission()
        admit(items, now: now, random: &random, into: &admission)
        return admission
    }

    /// `admit(_:now:random:)`, appending to `admission`: a caller admitting batch after batch
    /// keeps one admission and its arrays' storage.
    public mutating func admit(_ items: [[UInt8]], now: Double, random: inout some RandomNumberGenerator,
                               into admission: inout Admission) {
        admission.attempts.reserveCapacity(admission.attempts.count + items.count * settings.targets.count)
        for stored in items { admit(stored, now: now, random: &random, into: &admission) }
    }

    /// `admit(_:now:random:)` with the system's generator (tests, and callers without one).
    public mutating func admit(_ items: [[UInt8]], now: Double) -> Admission {
        var random = SystemRandomNumberGenerator()
        return admit(items, now: now, random: &random)
    }

    private mutating func admit(_ stored: [UInt8], now: Double, random: inout some RandomNumberGenerator,
                                into admission: inout Admission) {
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
            let digest = authenticator.eventDigest(tag: tag ?? Array(RandomToken.make(16, using: &random).utf8)[...], raw: raw)
            // An endpoint that does not subscribe to this action gets no delivery at all; an
            // ordered endpoint got its copy of a fanned-out event (`~o`) at the take.
            let fannedOut = tag.map { $0.count > 2 && $0.suffix(2).elementsEqual("~o".utf8) } ?? false
            // Counted, then walked again, rather than filtered into an array: one allocation
            // less per event.
            func subscribes(_ target: Target) -> Bool {
                target.accepts(event.action) && !(fannedOut && target.spec?.ordering != nil)
            }
            // By index, here and in `schedule`'s laggard check: a `for target in` loop's
            // iterator retained and released each target (and the array), and these three loops
            // run per event (`laggards(now:)`, once a round, keeps its `for`).
            var subscribed = 0
            for index in settings.targets.indices where subscribes(settings.targets[index]) { subscribed += 1 }
            let id = newEvent(ack: stored, pending: subscribed)
            for index in settings.targets.indices where subscribes(settings.targets[index]) {
                let target = settings.targets[index]
                let webhookID = WebhookID.derived(digest: digest, targetID: target.id)
                var attempt = Attempt(eventID: id, target: target, tries: 0, webhookID: webhookID,
                                      event: event, rateLimits: 0, heldSince: 0, slot: 0)
                if let route = target.spec?.route {
                    switch route.resolve(event, kind: target.spec!.kind) {
                    case .destination(let destination):
                        attempt = Attempt(eventID: id, target: target.resolved(to: destination), tries: 0, webhookID: webhookID,
                                          event: event, rateLimits: 0, heldSince: 0, slot: 0)
                    case .skip:
                        record(attempt, nil)
                        admission.notes.append(Note(kind: .skipped, target: target, webhookID: webhookID, status: 0,
                                                    reason: "\(route.field) is empty or absent"))
                        continue
                    case .refuse(let why):
                        refuse(attempt, reason: why, now: now, notes: &admission.notes)
                        continue
                    }
                }
                schedule(attempt, now: now, into: &admission)
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
            let id = newEvent(ack: stored, pending: 1)
            var attempt = Attempt(eventID: id, target: target, tries: delivery.tries, webhookID: delivery.webhookID,
                                  event: event, rateLimits: delivery.rateLimits, heldSince: delivery.heldSince, slot: delivery.slot)
            if let route = target.spec?.route {
                // The destination comes again from the event, which the item's MAC covers: a
                // forged item cannot redirect it. The fence: the fingerprint of the destination the
                // retry was made for (or the endpoint's own, from `dead replay`) must match.
                let why: String?
                switch route.resolve(event, kind: target.spec!.kind) {
                case .destination(let destination):
                    let resolved = target.resolved(to: destination)
                    if let print = delivery.urlFingerprint, print != directory.fingerprint(of: resolved),
                       print != directory.fingerprint(of: target) {
                        why = "endpoint '\(target.name)' now resolves this event to another destination than when the "
                            + "delivery was made (its bot token or api_url changed); not sent"
                    } else {
                        attempt = Attempt(eventID: id, target: resolved, tries: delivery.tries, webhookID: delivery.webhookID,
                                          event: event, rateLimits: delivery.rateLimits, heldSince: delivery.heldSince,
                                          slot: delivery.slot)
                        why = nil
                    }
                case .skip:
                    why = "\(route.field) is empty or absent: endpoint '\(target.name)' has no destination for this event"
                case .refuse(let reason):
                    why = reason
                }
                if let why {
                    refuse(attempt, reason: why, now: now, notes: &admission.notes)
                    finishIfDone(id, into: &admission.settlements)
                    return
                }
            }
            schedule(attempt, now: now, into: &admission)
            finishIfDone(id, into: &admission.settlements)
        }
    }

    // MARK: Ordered keys

    /// Admits one claim of an ordered endpoint's key (see docs/ARCHITECTURE.md, "Ordered
    /// delivery"): each member becomes an attempt to `target`, or a dead letter when it cannot
    /// be delivered (forged, malformed, made for another endpoint). The claim is decided as a
    /// whole and comes out of `complete` as one `Settlement` with `ordered` set.
    /// - Parameter sendBy: see `OrderRef.sendBy`.
    public mutating func admitOrdered(_ claim: OrderedClaim, target: Target, now: Double, sendBy: Double) -> Admission {
        var random = SystemRandomNumberGenerator()
        return admitOrdered(claim, target: target, now: now, sendBy: sendBy, random: &random)
    }

    /// `admitOrdered(_:target:now:sendBy:)` with the caller's generator (see `admit`).
    public mutating func admitOrdered(_ claim: OrderedClaim, target: Target, now: Double, sendBy: Double,
                                      random: inout some RandomNumberGenerator) -> Admission {
        var admission = Admission()
        let id = held.insert(Held(ack: claim.members.first ?? [], pending: 0, outcomes: [],
                                  ordered: OrderedSettlement(claim: claim, outcomes: Array(repeating: nil, count: claim.members.count),
                                                             failing: false),
                                  maxBlock: target.spec?.ordering?.maxBlock ?? OrderingSpec.defaultMaxBlock))
        var attempts: [Attempt] = []
        for (index, member) in claim.members.enumerated() {
            func dead(_ reason: String, payload: ArraySlice<UInt8>, webhookID: String? = nil, tries: Int = 0) {
                let letter = DeadLetter(payload: Array(payload), target: target, webhookID: webhookID, attempts: tries,
                                        failedAt: now, reason: reason)
                held[handle: id]?.ordered?.outcomes[index] = .dead(entry: letter.encoded())
                admission.notes.append(Note(kind: .rejected, target: target, webhookID: webhookID, status: 0, reason: reason))
            }
            guard let stored = OrderedClaim.item(ofMember: member) else {
                dead("malformed ordered entry; not delivered", payload: member[...])
                continue
            }
            let (item, _) = QueueItem.parse(Array(stored), authenticator: authenticator)
            let raw: ArraySlice<UInt8>, tag: ArraySlice<UInt8>?
            var tries = 0, webhookID: String?, rateLimits = 0
            switch item {
            case .forged:
                dead("forged or corrupted internal item: its authentication code does not verify; not delivered", payload: stored)
                continue
            case .event(let eventTag, let eventRaw):
                raw = eventRaw
                tag = eventTag
            case .delivery(let delivery):
                guard case .target(let found) = directory.resolve(id: delivery.targetID, fingerprint: delivery.urlFingerprint),
                      found.id == target.id else {
                    dead("ordered entry made for another endpoint or URL than '\(target.name)'; not sent", payload: delivery.raw,
                         webhookID: delivery.webhookID, tries: delivery.tries)
                    continue
                }
                raw = delivery.raw
                tag = nil
                tries = delivery.tries
                rateLimits = delivery.rateLimits
                webhookID = delivery.webhookID
            }
            let event: Event
            do {
                event = try Event.parse(raw, maxBytes: settings.maxPayloadBytes, now: now)
            } catch {
                dead("malformed event: \(error.reason)", payload: raw, webhookID: webhookID, tries: tries)
                continue
            }
            if webhookID == nil {
                let digest = authenticator.eventDigest(tag: tag ?? Array(RandomToken.make(16, using: &random).utf8)[...], raw: raw)
                webhookID = WebhookID.derived(digest: digest, targetID: target.id)
            }
            var attempt = Attempt(eventID: id, target: target, tries: tries, webhookID: webhookID ?? "", event: event,
                                  rateLimits: rateLimits, heldSince: 0, slot: 0)
            attempt.order = OrderRef(index: index, key: claim.key, sendBy: sendBy)
            attempt.batched = Self.batches(attempt.target, defaultCompat: settings.compat)
            attempts.append(attempt)
        }
        held[handle: id]?.pending = attempts.count
        targetStates[target.key, default: TargetState()].backlog += attempts.count
        admission.attempts = attempts
        finishIfDone(id, into: &admission.settlements)
        return admission
    }

    /// Sends the attempt now or, when its target is a laggard (see the type's doc), defers it to
    /// the delayed set without counting a try.
    /// Takes `attempt` (consuming): it is appended, not copied, once it goes out.
    private mutating func schedule(_ attempt: consuming Attempt, now: Double, into admission: inout Admission) {
        // Found once, read, and changed in place below (nothing is inserted in between).
        let mineAt = targetStates.index(forKey: attempt.target.key)
        let mine = mineAt.map { targetStates.values[$0].backlog } ?? 0
        var least: Int?
        for index in settings.targets.indices {
            let target = settings.targets[index]
            guard target.id != attempt.target.id && isTakingDeliveries(target, now: now) else { continue }
            least = min(least ?? .max, targetStates[target.key]?.backlog ?? 0)
        }
        if let least, mine - least >= max(1, settings.laggardSlack) {
            record(attempt, .retry(after: settings.deferDelay,
                                   item: item(for: attempt, tries: attempt.tries, rateLimits: attempt.rateLimits,
                                              heldSince: attempt.heldSince)),
                   log: logRecord(attempt, .held, now: now))
            admission.notes.append(Note(kind: .deferred, target: attempt.target, webhookID: attempt.webhookID,
                                        status: 0, reason: nil))
            return
        }
        if let mineAt {
            targetStates.values[mineAt].backlog += 1
        } else {
            targetStates[attempt.target.key] = TargetState(backlog: 1)
        }
        attempt.batched = Self.batches(attempt.target, defaultCompat: settings.compat)
        admission.attempts.append(attempt)
    }

    /// The targets that lag now (see the type's doc), with their unresolved attempts. Why: the
    /// rule is applied to new deliveries as they are admitted, but a burst admitted before any
    /// target answered has nobody to lag behind yet, so a hung target's attempts all queue for
    /// it and hold their events (and the worker's room) until they time out. Once others answer,
    /// the caller withdraws the laggard's attempts that have not started; they come back
    /// through `complete` as `.withdrawn` and are parked as `schedule` parks new ones.
    /// One pass over the targets: the least loaded other target is the least or the second least.
    public func laggards(now: Double) -> [(target: Target, backlog: Int)] {
        let slack = max(1, settings.laggardSlack)
        var least = (id: "", count: Int.max), second = Int.max
        var anyOver = false
        for target in settings.targets {
            let count = targetStates[target.key]?.backlog ?? 0
            if count >= slack { anyOver = true }
            guard isTakingDeliveries(target, now: now) else { continue }
            if count < least.count {
                second = least.count
                least = (target.id, count)
            } else if count < second {
                second = count
            }
        }
        guard anyOver, least.count != .max else { return [] }
        var lagging: [(target: Target, backlog: Int)] = []
        // An ordered endpoint's requests are claims whose keys wait on them: never withdrawn.
        for target in settings.targets where target.spec?.ordering == nil {
            let count = targetStates[target.key]?.backlog ?? 0
            let other = target.id == least.id ? second : least.count
            if other != .max, count - other >= slack { lagging.append((target, count)) }
        }
        return lagging
    }

    /// Whether `target` can measure how fast the others should go: see the laggard rule.
    private func isTakingDeliveries(_ target: Target, now: Double) -> Bool {
        // An ordered endpoint's backlog is bounded by its keys in flight, not by its health.
        guard target.spec?.rate == nil, target.spec?.ordering == nil, let seen = targetStates[target.key] else { return false }
        return seen.answeredAt >= now - settings.deferDelay && seen.answeredAt >= seen.heldAt
    }

    /// One attempt of the target leaves its backlog: answered at `answeredAt`, or held at
    /// `heldAt` (the gate said not now). A target not seen before starts at a backlog of one.
    private static func completed(_ state: inout TargetState, answeredAt: Double? = nil, heldAt: Double? = nil) {
        state.backlog -= 1
        if let answeredAt { state.answeredAt = answeredAt }
        if let heldAt { state.heldAt = heldAt }
    }

    // MARK: Input 2: postpone (waiting without a try)

    /// Applies the endpoint gate's verdict: the attempt goes back to the delayed set for
    /// `after` seconds without counting a try (its endpoint's rate limit or circuit breaker said
    /// not now). The delivery keeps when it was first held; when waiting `after` more seconds
    /// would take it past `Settings.maxHold` held in all, it becomes a dead letter now instead.
    public mutating func postpone(_ postponement: Postponement, now: Double) -> Completion {
        let attempt = postponement.attempt, after = postponement.after, slot = postponement.slot
        let maxHold = settings.maxHold
        var completion = Completion()
        Self.completed(&targetStates[attempt.target.key, default: TargetState(backlog: 1)], heldAt: now)
        guard held.slot(of: attempt.eventID) != nil else { return completion }
        let since = attempt.heldSince > 0 ? attempt.heldSince : now
        if now + after - since > maxHold {
            let why = "held for more than \(Int(maxHold)) s: \(postponement.reason)"
            let letter = DeadLetter(payload: attempt.event.bytes, target: attempt.target, webhookID: attempt.webhookID,
                                    attempts: attempt.tries, failedAt: now, reason: why)
            record(attempt, .dead(entry: letter.encoded()), log: logRecord(attempt, .dead, now: now))
            completion.notes.append(Note(kind: .dead, target: attempt.target, webhookID: attempt.webhookID, status: 0, reason: why,
                                         cause: .heldTooLong))
        } else {
            // Logged when the delivery is first held, not at each check while it waits: an open
            // breaker would otherwise fill the log with one record per delivery per probe.
            record(attempt, .retry(after: after, item: item(for: attempt, tries: attempt.tries, rateLimits: attempt.rateLimits,
                                                            heldSince: since, slot: slot)),
                   log: attempt.heldSince > 0 ? nil : logRecord(attempt, .held, now: now))
            completion.notes.append(Note(kind: .deferred, target: attempt.target, webhookID: attempt.webhookID, status: 0,
                                         reason: postponement.reason.description))
        }
        finishIfDone(attempt.eventID, into: &completion.settlements)
        return completion
    }

    // MARK: Announcements

    /// The queue item that delivers `event` (an `endpoint_opened` / `endpoint_closed`
    /// announcement the endpoint gate built) to `target`: a new delivery, no try spent, with a
    /// fresh webhook-id (there is no tagged event to derive one from) and the fence of the
    /// target's URL, like every delivery the ledger writes.
    public func announcement(_ event: [UInt8], to target: Target, random: inout some RandomNumberGenerator) -> [UInt8] {
        QueueItem.encode(Delivery(webhookID: WebhookID.random(targetID: target.id, using: &random), tries: 0,
                                  targetID: target.id, urlFingerprint: directory.fingerprint(of: target), raw: event[...]),
                         authenticator: authenticator)
    }

    // MARK: Input 3: track

    /// Records which attempts one request carries (one, or a Marzban-mode batch); returns the
    /// request's token, which its answer must carry to `complete`. Never 0.
    public mutating func track(attempts: [Attempt]) -> UInt64 {
        requests.insert(attempts.count == 1 ? .one(attempts[0]) : .batch(attempts))
    }

    /// Records the one attempt a request carries (consuming: stored, not copied again); returns
    /// the request's token.
    public mutating func track(attempt: consuming Attempt) -> UInt64 {
        requests.insert(.one(attempt))
    }

    /// The target of the request `token`, while it is tracked (before `complete`).
    public func target(ofRequest token: UInt64) -> Target? {
        switch requests[handle: token] {
        case .one(let attempt): return attempt.target
        case .batch(let attempts): return attempts.first?.target
        case nil: return nil
        }
    }

    // MARK: Input 4: complete

    /// Decides every attempt the request `token` carried.
    /// - Parameters:
    ///   - latencyMs: how long the request took, for the attempt log.
    ///   - result: the typed outcome; its `errorClass` is the attempt log's error class.
    public mutating func complete(request token: UInt64, result: AttemptResult, now: Double,
                                  random: inout some RandomNumberGenerator, latencyMs: Int? = nil) -> Completion {
        var completion = Completion()
        complete(request: token, result: result, now: now, random: &random, latencyMs: latencyMs, into: &completion)
        return completion
    }

    /// `complete(request:result:now:random:)`, appending to `completion`: a caller completing
    /// many requests reuses one pair of arrays instead of allocating two per request.
    public mutating func complete(request token: UInt64, result: AttemptResult, now: Double,
                                  random: inout some RandomNumberGenerator, latencyMs: Int? = nil,
                                  into completion: inout Completion) {
        guard let slot = requests.slot(of: token) else { return }
        let tracked = requests.remove(slot: slot)
        let status: Int
        let cause: Note.Cause
        switch result {
        case .status(let code, _, _): (status, cause) = (code, .answered)
        case .transportError(let failure, _): (status, cause) = (0, .failed(failure))
        case .cancelled, .withdrawn: (status, cause) = (0, .notSent)
        }
        switch tracked {
        case .one(let attempt):
            decide(attempt, result: result, status: status, cause: cause, now: now, random: &random, latencyMs: latencyMs,
                   into: &completion)
        case .batch(let attempts):
            for attempt in attempts {
                decide(attempt, result: result, status: status, cause: cause, now: now, random: &random, latencyMs: latencyMs,
                       into: &completion)
            }
        }
    }

    /// Decides one attempt of a completed request (see `complete`).
    private mutating func decide(_ attempt: Attempt, result: AttemptResult, status: Int, cause: Note.Cause, now: Double,
                                 random: inout some RandomNumberGenerator, latencyMs: Int?,
                                 into completion: inout Completion) {
        // Looked up, not copied out: a copy of the event's state retains its arrays.
        let slot = held.slot(of: attempt.eventID)
        let answered = slot != nil && result != .cancelled && result != .withdrawn
        Self.completed(&targetStates[attempt.target.key, default: TargetState(backlog: 1)], answeredAt: answered ? now : nil)
        guard let slot else { return }
        let outcome: Settlement.Outcome?
        let note: Note.Kind
        var reason: String?
        var logged: AttemptOutcome?
        if result == .withdrawn {
            // Parked like a laggard's new delivery (see `schedule`): no try, hold and slot kept.
            outcome = .retry(after: settings.deferDelay,
                             item: item(for: attempt, tries: attempt.tries, rateLimits: attempt.rateLimits,
                                        heldSince: attempt.heldSince, slot: attempt.slot))
            note = .deferred
        } else if case .cancelled = result {
            // Handed back at shutdown: not an attempt, so nothing is counted, and its hold
            // and any slot (not used: it never reached the wire) travel on.
            outcome = .requeue(item: item(for: attempt, tries: attempt.tries, rateLimits: attempt.rateLimits,
                                          heldSince: attempt.heldSince, slot: attempt.slot))
            note = .handedBack
        } else {
            let heldFor = attempt.heldSince > 0 ? max(0, now - attempt.heldSince) : 0
            switch settings.retry.decide(tries: attempt.tries, rateLimits: attempt.rateLimits,
                                         rateLimitedFor: heldFor, result: result,
                                         rateLimitsBy429: attempt.target.kind != .webhook, random: &random) {
            case .delivered:
                outcome = nil
                note = .delivered
                logged = .delivered
            case .retry(let after, _) where attempt.order != nil && blocksTooLong(held[slot: slot], after: after, now: now):
                (outcome, reason) = skipAhead(attempt, status: status, result: result, now: now,
                                              why: "its retry would hold the key past order_max_block (\(Int(held[slot: slot].maxBlock)) s)")
                note = .dead
                logged = .dead
            case .rateLimited(let after) where attempt.order != nil && blocksTooLong(held[slot: slot], after: after, now: now):
                (outcome, reason) = skipAhead(attempt, status: status, result: result, now: now,
                                              why: "rate-limited past order_max_block (\(Int(held[slot: slot].maxBlock)) s)")
                note = .dead
                logged = .dead
            case .retry(let after, let tries):
                outcome = .retry(after: after, item: item(for: attempt, tries: tries))
                note = .retry
                logged = .retry
                if attempt.order != nil { held[slot: slot].ordered?.failing = true }
            case .rateLimited(let after):
                outcome = .retry(after: after, item: item(for: attempt, tries: attempt.tries, rateLimits: attempt.rateLimits + 1,
                                                          heldSince: attempt.heldSince > 0 ? attempt.heldSince : now))
                note = .rateLimited
                logged = .rateLimited
                if attempt.order != nil { held[slot: slot].ordered?.failing = true }
            case .dead(let why) where attempt.order != nil:
                (outcome, reason) = skipAhead(attempt, status: status, result: result, now: now,
                                              why: "\(why)")
                note = .dead
                logged = .dead
            case .dead(let why):
                var lastError: String?
                if case .transportError(_, let message) = result { lastError = message }
                let letter = DeadLetter(payload: attempt.event.bytes, target: attempt.target,
                                        webhookID: attempt.webhookID, attempts: attempt.tries + 1,
                                        lastStatus: status > 0 ? status : nil, lastError: lastError,
                                        failedAt: now, reason: why)
                outcome = .dead(entry: letter.encoded())
                note = .dead
                reason = why
                logged = .dead
            }
        }
        completion.notes.append(Note(kind: note, target: attempt.target, webhookID: attempt.webhookID,
                                     status: status, reason: reason, cause: cause))
        var log: [UInt8]?
        if let logged, settings.logAttempts {
            var body: [UInt8] = []
            if case .status(_, _, let answer) = result { body = answer }
            log = logRecord(attempt, logged, now: now, status: status > 0 ? status : nil, latencyMs: latencyMs,
                            errorClass: logged == .delivered ? nil : result.errorClass,
                            body: body)
        }
        record(attempt, outcome, log: log)
        finishIfDone(attempt.eventID, into: &completion.settlements)
    }

    // MARK: The attempt log

    /// `attempt`'s attempt-log record, stored form; nil when the log is off.
    private mutating func logRecord(_ attempt: Attempt, _ outcome: AttemptOutcome, now: Double, status: Int? = nil,
                                    latencyMs: Int? = nil, errorClass: String? = nil, body: [UInt8] = []) -> [UInt8]? {
        guard settings.logAttempts else { return nil }
        func record(_ response: UnsafeBufferPointer<UInt8>) -> [UInt8] {
            AttemptRecord.stored(time: Self.millis(now), webhookID: attempt.webhookID, action: attempt.event.action,
                                 user: AttemptRecord.user(of: attempt.event), endpoint: attempt.target.name,
                                 attempt: attempt.tries + 1, outcome: outcome, status: status, latencyMs: latencyMs,
                                 errorClass: errorClass, response: response)
        }
        guard !body.isEmpty else { return record(UnsafeBufferPointer(start: nil, count: 0)) }
        let mask = excerptMask(of: attempt.target)
        if let length = mask.plainLength(of: body) {
            return body.withUnsafeBufferPointer { record(UnsafeBufferPointer(rebasing: $0[..<length])) }
        }
        return AttemptRecord.excerpt(body, secrets: mask.secrets).withUTF8Bytes { record($0) }
    }

    /// `target`'s excerpt mask, made at its first answer with a body (a routed endpoint's
    /// destinations share their endpoint's key, secrets and mask).
    private mutating func excerptMask(of target: Target) -> ExcerptMask {
        if let mask = excerptMasks[target.key] { return mask }
        let mask = ExcerptMask(secrets: secrets(of: target))
        excerptMasks[target.key] = mask
        return mask
    }

    /// What a response excerpt for `target` must not show: see `Settings.logSecrets`.
    private func secrets(of target: Target) -> [String] {
        var secrets = settings.logSecrets
        if let spec = target.spec {
            secrets += spec.secrets
            secrets += spec.headers.map(\.value)
            if let telegram = spec.telegram { secrets.append(telegram.botToken) }
        }
        return secrets
    }

    static func millis(_ seconds: Double) -> UInt64 {
        seconds.isFinite && seconds > 0 ? UInt64(seconds * 1000) : 0
    }

    // MARK: Helpers

    /// Whether retrying an ordered head `after` seconds from `now` keeps its key blocked past
    /// `order_max_block`, counted from its first failure (the claim's `blockedSince`, or now).
    private func blocksTooLong(_ heldEvent: Held, after: Double, now: Double) -> Bool {
        guard let claim = heldEvent.ordered?.claim else { return false }
        let since = claim.blockedSince > 0 ? claim.blockedSince : now
        return now + after - since > heldEvent.maxBlock
    }

    /// The dead letter of an ordered head that gives up: marked so `dead list` and a replay
    /// say that the key went on without it.
    private func skipAhead(_ attempt: Attempt, status: Int, result: AttemptResult, now: Double,
                           why: String) -> (Settlement.Outcome?, String?) {
        var lastError: String?
        if case .transportError(_, let message) = result { lastError = message }
        let reason = "\(OrderingSpec.skippedAhead): \(why); later events of its key were sent on, "
            + "so a replay of this one arrives out of order"
        let letter = DeadLetter(payload: attempt.event.bytes, target: attempt.target, webhookID: attempt.webhookID,
                                attempts: attempt.tries + 1, lastStatus: status > 0 ? status : nil, lastError: lastError,
                                failedAt: now, reason: reason)
        return (.dead(entry: letter.encoded()), reason)
    }

    private mutating func newEvent(ack: [UInt8], pending: Int) -> UInt64 {
        held.insert(Held(ack: ack, pending: pending, outcomes: []))
    }

    private mutating func record(_ attempt: Attempt, _ outcome: Settlement.Outcome?, log: [UInt8]? = nil) {
        // Changed in place: a copy taken out and written back would share its arrays with the
        // stored one, so each append would copy them (an allocation per record).
        guard let slot = held.slot(of: attempt.eventID) else { return }
        if let index = attempt.order?.index, held[slot: slot].ordered != nil {
            held[slot: slot].ordered?.outcomes[index] = outcome
        } else if let outcome {
            held[slot: slot].outcomes.append(outcome)
        }
        if let log { held[slot: slot].log.append(log) }
        held[slot: slot].pending -= 1
    }

    /// Why the fields are swapped out and the count read through `inout`: reading a held
    /// event's field through the dictionary's getter copied the whole event (a retain per array
    /// it holds), and copying its arrays into the settlement retained each once more.
    private mutating func finishIfDone(_ id: UInt64, into settlements: inout [Settlement]) {
        func pending(_ event: inout Held) -> Int { event.pending }
        guard let slot = held.slot(of: id), pending(&held[slot: slot]) <= 0 else { return }
        var event = held.remove(slot: slot)
        var ack: [UInt8] = [], outcomes: [Settlement.Outcome] = [], log: [[UInt8]] = []
        swap(&ack, &event.ack)
        swap(&outcomes, &event.outcomes)
        swap(&log, &event.log)
        if event.ordered != nil {
            var settlement = Settlement(ack: ack, outcomes: outcomes, log: log)
            settlement.ordered = event.ordered
            settlement.ordered?.log = log
            settlements.append(settlement)
        } else {
            settlements.append(Settlement(ack: ack, outcomes: outcomes, log: log))
        }
    }

    /// A routed endpoint's destination that must not be used: a dead letter saying why, for
    /// this endpoint only (the event's other endpoints go on), never sent.
    private mutating func refuse(_ attempt: Attempt, reason: String, now: Double, notes: inout [Note]) {
        let letter = DeadLetter(payload: attempt.event.bytes, target: attempt.target, webhookID: attempt.webhookID,
                                attempts: attempt.tries, failedAt: now, reason: "destination refused: " + reason)
        record(attempt, .dead(entry: letter.encoded()))
        notes.append(Note(kind: .refused, target: attempt.target, webhookID: attempt.webhookID, status: 0,
                          reason: "destination refused: " + reason))
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
        var log: [[UInt8]] = []
        if settings.logAttempts, let target, let webhookID {
            // Not sent at all; the record says so at the endpoint it was for.
            let event = try? Event.parse(payload, maxBytes: settings.maxPayloadBytes, now: now)
            log.append(AttemptRecord(time: Self.millis(now), webhookID: webhookID, action: event?.action ?? "",
                                     user: event.map(AttemptRecord.user(of:)) ?? "", endpoint: target.name,
                                     attempt: attempts + 1, outcome: .dead).stored())
        }
        admission.settlements.append(Settlement(ack: stored, outcomes: [.dead(entry: letter.encoded())], log: log))
        admission.notes.append(Note(kind: .rejected, target: target, webhookID: webhookID, status: 0, reason: reason))
    }

    private func item(for attempt: Attempt, tries: Int, rateLimits: Int = 0, heldSince: Double = 0, slot: Double = 0) -> [UInt8] {
        QueueItem.encode(Delivery(webhookID: attempt.webhookID, tries: tries, targetID: attempt.target.id,
                                  urlFingerprint: directory.fingerprint(of: attempt.target),
                                  rateLimits: rateLimits, heldSince: heldSince, slot: slot, raw: attempt.event.bytes[...]),
                         authenticator: authenticator)
    }
}
