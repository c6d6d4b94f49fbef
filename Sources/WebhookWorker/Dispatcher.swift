import Crypto
import Foundation
import Logging
import Metrics
import WebhookCore
import WebhookHTTP
import WebhookQueue

/// The dispatcher thread: sole owner of the `DeliveryLedger`, and only its driver. It feeds the
/// ledger what the taker took and what the HTTP client finished, passes the endpoint gate's
/// verdicts to it, sends the attempts it returns (`RequestBuilder`, `HTTPClient`), and writes the
/// settlements it decides; after each persisted settle it frees the taker's room.
///
/// Its parts: the `DispatcherMailbox` the other threads post into, the `EndpointGuard` (the
/// fleet's breakers and rate limits), the `Pacer` (attempts waiting in memory for a near slot),
/// the settle batching (`WorkerConfiguration.settleMaxCount` / `settleMaxBytes`), the suspect
/// protocol for crash-marked items, the ordered claims, and `HeapTrim`.
///
/// Unchecked Sendable: the mailbox is its own lock's; everything else is owned by the
/// dispatcher thread, and the `var` hooks (`on...`, `joinedServer`) are set before that thread
/// starts (they name the other threads' objects, made after this one).
final class Dispatcher: @unchecked Sendable {
    private let configuration: Configuration
    private let workerID: String
    private let room: Room
    private let gate: TakeGate
    private let liveness: Liveness
    private let logger: Logger
    /// Opens this thread's own queue connection (Redis, or memory in tests).
    private let makeQueue: @Sendable () -> any DeliveryQueue
    private let mailbox: DispatcherMailbox
    private var ledger: DeliveryLedger
    private var builder: RequestBuilder
    /// The HTTP client; its completions arrive in `mailbox`.
    private let http: HTTPClient
    /// Called with the delay of the earliest retry just scheduled, so the poller can wake.
    var onRetryScheduled: (@Sendable (Double) -> Void)?
    private let metrics = DeliveryMetrics()
    /// Rate limits and circuit breakers shared by the fleet (everything passes without Redis).
    private let endpointGuard: EndpointGuard
    /// Sends attempt spans to the OTLP collector; nil when tracing is off.
    private let spanExporter: SpanExporter?
    /// Makes the spans; nil when tracing is off.
    private let tracer: AttemptTracer?
    /// Attempts waiting in memory for a near rate-limit slot.
    private var pacer = Pacer()
    private var heapTrim = HeapTrim()
    /// Kept from round to round with their arrays' storage (see `admit` and `send`).
    private var admission = DeliveryLedger.Admission()
    private var built = RequestBuilder.Built()
    /// The ledger's randomness (retry jitter, minted ids), passed in like the time.
    private var random = SystemRandomNumberGenerator()
    /// Called after the settling connection reached another Redis server and what this worker
    /// holds was put back there: the taker then returns what that server's processing list
    /// holds beyond it (settles the old server took and never passed on).
    var onServerChanged: (@Sendable () -> Void)?
    /// The server this worker joined (its `serverID`): where its processing list is known to
    /// be when the dispatcher starts; set before `run` starts (known only once the worker joined).
    var joinedServer: String?
    /// Called once, with the endpoint, when an endpoint answers as this product's ingest bridge
    /// (`IngestReceipt`): the worker is feeding its own queue and must stop.
    var onBridgeAnswer: (@Sendable (Target) -> Void)?
    private var bridgeAnswered = false
    /// The attempt log's last write failed (warned once until it works again).
    private var logFailing = false
    /// The ordered endpoints (see docs/ARCHITECTURE.md, "Ordered delivery"), and their targets.
    private let orderedRoutes: [OrderedRoute]
    private let orderedTargets: [String: Target]
    /// Claims of ordered keys admitted and not yet settled; at most `orderedCap`.
    private var orderedHeld = 0
    private let orderedCap: Int
    /// When pending outcomes are written.
    private let settlePolicy: SettlePolicy
    /// When to ask for ready ordered keys next.
    private var nextClaimAt = Date.distantPast
    /// Replicas of the server claims go to, and when that was last asked (see `claimOrdered`).
    private var replicas = (count: 0, server: String?.none, askedAt: Date.distantPast)
    private var replicaWarningAt = Date.distantPast

    init(configuration: Configuration, workerID: String, targets: [Target], authenticator: ItemAuthenticator,
         room: Room, gate: TakeGate, liveness: Liveness, logger: Logger, mailbox: DispatcherMailbox, http: HTTPClient,
         endpointGuard: EndpointGuard, makeQueue: @escaping @Sendable () -> any DeliveryQueue) {
        self.makeQueue = makeQueue
        self.configuration = configuration
        self.workerID = workerID
        self.room = room
        self.gate = gate
        self.liveness = liveness
        self.logger = logger
        self.mailbox = mailbox
        self.http = http
        self.endpointGuard = endpointGuard
        self.ledger = DeliveryLedger(
            settings: .init(targets: targets, retry: configuration.endpoints.retry, maxPayloadBytes: configuration.worker.maxPayloadBytes,
                            maxCrashes: configuration.worker.maxCrashes,
                            laggardSlack: max(1, configuration.worker.maxInflightEvents / 2),
                            deferDelay: max(1, configuration.worker.pollInterval),
                            compat: configuration.endpoints.compat, maxHold: configuration.endpoints.breaker.maxHold,
                            logAttempts: configuration.attemptLog.isOn,
                            logSecrets: [configuration.endpoints.secret].compactMap { $0 }),
            authenticator: authenticator)
        let routes = OrderedRoute.routes(targets)
        self.orderedRoutes = routes
        self.orderedTargets = Dictionary(targets.filter { t in routes.contains { $0.targetID == t.id } }.map { ($0.id, $0) },
                                         uniquingKeysWith: { first, _ in first })
        self.orderedCap = max(1, configuration.worker.maxInflightEvents)
        self.settlePolicy = SettlePolicy(maxInflightEvents: configuration.worker.maxInflightEvents)
        self.builder = RequestBuilder(secret: configuration.endpoints.secret, timeout: configuration.http.timeout)
        self.spanExporter = SpanExporter(configuration: configuration.tracing, logger: logger)
        self.tracer = spanExporter.map(AttemptTracer.init)
        builder.tracer = tracer
        builder.egress = configuration.http.egress
        builder.logger = logger
    }

    /// Items the taker moved into the processing list.
    func post(taken items: [[UInt8]]) {
        mailbox.post(taken: items)
    }

    /// Asks the loop to write what it has and return once nothing is held.
    func finish() {
        mailbox.finish()
    }

    func run() {
        defer { spanExporter?.shutdown() }
        let queue = makeQueue()
        // Settles go only to the server what this worker holds is known to be on (see restoreHeld).
        queue.pinnedServerID = joinedServer
        queue.attemptLog = configuration.attemptLog
        var pending: [Settlement] = []
        /// When `pending` last went from empty to not (see `SettlePolicy`).
        var pendingSince = Date.distantFuture
        /// Reused for every round's answers (see `DeliveryLedger.complete(...into:)`).
        var completion = DeliveryLedger.Completion()
        var retry = RetryLog(what: "settling", logger: logger)
        var failedSince: Date?
        var retryAt = Date.distantPast
        /// The mailbox's contents each round; emptied after use and swapped back in, so a round
        /// allocates no arrays of its own.
        var batches: [[[UInt8]]] = [], newResponses: [[HTTPResponse]] = []
        while true {
            liveness.beat("dispatcher")
            while (pending.isEmpty || Date() < settleAt(pending.count, since: pendingSince, retryAt: retryAt))
                    && (pacer.nextTime.map { Date() < $0 } ?? true)
                    && !(mayClaim && Date() >= nextClaimAt)
                    && (endpointGuard.flushDueAt.map { Date() < $0 } ?? true) {
                // Bounded, so the loop beats for /livez while idle, retries settles, sends paced
                // attempts and writes breaker outcomes on time.
                var until = Date(timeIntervalSinceNow: 1)
                if !pending.isEmpty { until = min(until, settleAt(pending.count, since: pendingSince, retryAt: retryAt)) }
                if let paced = pacer.nextTime { until = min(until, paced) }
                if mayClaim { until = min(until, nextClaimAt) }
                if let flushAt = endpointGuard.flushDueAt { until = min(until, flushAt) }
                if mailbox.wait(until: until) { break }
                liveness.beat("dispatcher")
                if pending.isEmpty && ledger.heldEvents == 0 && heapTrim.shouldTrim() {
                    builder.dropSpares()
                    HeapTrim.trim()
                }
            }
            heapTrim.workDone()
            let done = mailbox.take(&batches, &newResponses)

            let now = endpointGuard.now()
            for batch in batches { admit(batch, now: now, queue: queue, into: &pending) }
            batches.removeAll(keepingCapacity: true)
            if !done && mayClaim && Date() >= nextClaimAt { claimOrdered(now: now, queue: queue, into: &pending) }
            if !pacer.isEmpty {
                if done {
                    handBackPaced(now: now, into: &pending)
                } else {
                    var released = pacer.release(now: Date())
                    send(&released)
                }
            }
            if !newResponses.isEmpty {
                var answered = false
                // One array per round of the HTTP thread (see `DispatcherMailbox.post(responses:)`).
                // Through a pointer: `round[index]` copies the response out of the array
                // (retaining all it holds); see `complete`.
                for round in newResponses.indices {
                    newResponses[round].withUnsafeMutableBufferPointer { responses in
                        guard let first = responses.baseAddress else { return }
                        for index in responses.indices {
                            if complete(first + index, now: now, into: &completion) { answered = true }
                            // Its body's and header lines' memory serves the next requests.
                            if responses[index].request != nil { builder.recycle(&responses[index].request!) }
                        }
                    }
                }
                metrics.count(completion.notes, logger: logger)
                endpointGuard.note(completion.notes)
                // Swapped in when nothing is pending: appending copies (retains) each settlement.
                if pending.isEmpty {
                    swap(&pending, &completion.settlements)
                } else {
                    pending.append(contentsOf: completion.settlements)
                }
                completion.notes.removeAll(keepingCapacity: true)
                completion.settlements.removeAll(keepingCapacity: true)
                if answered && !done { withdrawLaggards(now: now) }
                newResponses.removeAll(keepingCapacity: true)
            }
            endpointGuard.flush()
            announce(endpointGuard.takeAnnouncements(), queue: queue)
            metrics.inflight.record(http.inFlight)

            if pending.isEmpty {
                pendingSince = .distantFuture
            } else if pendingSince == .distantFuture {
                pendingSince = Date()
            }
            if !pending.isEmpty && Date() >= retryAt && (done || Date() >= settleAt(pending.count, since: pendingSince, retryAt: retryAt)) {
                do {
                    try settle(&pending, queue: queue)
                    pendingSince = .distantFuture
                    endpointGuard.redisAnswered()
                    retry.succeeded()
                    gate.open(.settle)
                    failedSince = nil
                    retryAt = .distantPast
                } catch let settleError {
                    var error = settleError
                    if error.code == .serverChanged {
                        do throws(QueueError) {
                            try restoreHeld(queue)
                            continue  // settle there at once
                        } catch let restoreError {
                            error = restoreError  // the pin stays: the next settle asks again, after the backoff
                        }
                    }
                    if error.code != .connection { gate.close(.settle, message: error.message) }
                    let since = failedSince ?? Date()
                    failedSince = since
                    // At shutdown, give up after the grace period: what stays in the processing
                    // list is requeued by another worker once this one's heartbeat expires.
                    if done && Date().timeIntervalSince(since) > configuration.worker.shutdownGrace {
                        logger.error("could not settle before exit; another worker will requeue the held events",
                                     metadata: ["error": "\(error)", "events": "\(pending.count)"])
                        return
                    }
                    retryAt = Date().addingTimeInterval(retry.failed(error))
                }
            }
            if done && pending.isEmpty && ledger.heldEvents == 0 && mailbox.isEmpty { return }
        }
    }

    /// Feeds one finished request to the ledger, into `completion`; true when it was an attempt
    /// (it reached the wire). Through a pointer, its fields read one by one: a response passed
    /// by value, even borrowed from a buffer, was copied whole around the call (retaining every
    /// reference it and the request inside it hold).
    private func complete(_ response: UnsafePointer<HTTPResponse>, now: Double,
                          into completion: inout DeliveryLedger.Completion) -> Bool {
        let token = response.pointee.token, duration = response.pointee.duration
        let latencyMs = response.pointee.started ? Int((duration * 1000).rounded()) : nil
        let result = AttemptResult(outcome: response.pointee.outcome, retryAfter: response.pointee.retryAfter,
                                   body: response.pointee.body)
        let attempted = result != .cancelled && result != .withdrawn
        if !bridgeAnswered, case .status(let status, _, let body) = result,
           IngestReceipt.matches(status: status, body: body),
           let target = ledger.target(ofRequest: token) {
            bridgeAnswered = true
            onBridgeAnswer?(target)
        }
        let noted = completion.notes.count
        ledger.complete(request: token, result: result, now: now, random: &random, latencyMs: latencyMs, into: &completion)
        if attempted { metrics.attemptDuration.recordSeconds(duration) }
        if let tracer {
            let end = Date()
            for note in completion.notes[noted...] {
                tracer.end(note, result: result, duration: duration, now: end)
            }
        }
        return attempted
    }

    /// Whether this worker takes ordered keys now: it has ordered endpoints, room for more
    /// claims, and its take gate is open (a reaped or out-of-memory worker takes nothing).
    private var mayClaim: Bool {
        !orderedRoutes.isEmpty && orderedHeld < orderedCap && gate.isOpen
    }

    /// How often an idle worker asks for ready ordered keys: a key another worker readied (an
    /// event enqueued, a head settled) waits at most this long. A worker that just settled or
    /// claimed asks again at once.
    static let orderedPoll = 0.1

    /// Claims ready keys of every ordered endpoint within the room left, and admits and sends
    /// their heads. Each claim's lease is WEBHOOK_LEASE plus the endpoint's timeout; its requests
    /// must go on the wire by WEBHOOK_LEASE - 1 s after the claim was asked for (this process's
    /// clock, started before Redis's), so an answer always arrives while the lease holds.
    private func claimOrdered(now: Double, queue: any DeliveryQueue, into pending: inout [Settlement]) {
        var nextDue = Self.orderedPoll
        for route in orderedRoutes {
            guard let target = orderedTargets[route.targetID] else { continue }
            let room = orderedCap - orderedHeld
            guard room > 0 else { break }
            let asked = Date().timeIntervalSince1970
            let lease = configuration.worker.lease + (target.spec?.timeout ?? configuration.http.timeout)
            do {
                let (claims, due) = try queue.claimOrdered(route, max: min(room, configuration.worker.batchSize),
                                                           leaseMillis: Int(lease * 1000))
                if let due { nextDue = min(nextDue, due) }
                if claims.count >= min(room, configuration.worker.batchSize) { nextDue = 0 }
                guard !claims.isEmpty, try replicated(queue) else { continue }
                for claim in claims {
                    orderedHeld += 1
                    var claimed = ledger.admitOrdered(claim, target: target, now: now, sendBy: asked + configuration.worker.lease - 1,
                                                      random: &random)
                    dispatch(&claimed, into: &pending)
                }
            } catch {
                if error.code == .serverChanged { try? restoreHeld(queue) }
                logger.warning("could not claim ordered keys", metadata: ["endpoint": "\(target.name)", "error": "\(error)"])
                nextDue = 1
            }
        }
        nextClaimAt = Date(timeIntervalSinceNow: nextDue)
    }

    /// With replicas, a claim is sent only once the replicas have it (`WAIT`), and with it every
    /// write before it, in particular the settle that delivered the key's previous event: a
    /// failover to a replica that missed that settle would bring the previous event back as the
    /// key's head and send it again after this one. False when not every connected replica
    /// acknowledged within a second (a failover under way: the old master takes writes its
    /// replicas never see), or the connection reached another server meanwhile: the claims are
    /// then not sent, and their leases expire (order before availability). The replicas are
    /// counted again after such a round, and every 10 s.
    private func replicated(_ queue: any DeliveryQueue) throws(QueueError) -> Bool {
        if replicas.server != queue.serverID || Date().timeIntervalSince(replicas.askedAt) > 10 {
            replicas = (try queue.connectedReplicas(), queue.serverID, Date())
        }
        guard replicas.count > 0 else { return true }
        let acknowledged = try queue.waitForReplicas(replicas.count, timeoutMillis: 1000)
        if acknowledged < replicas.count {
            replicas.askedAt = .distantPast
            if Date().timeIntervalSince(replicaWarningAt) > 60 {
                replicaWarningAt = Date()
                logger.warning("ordered claims not sent: not every replica acknowledged them within 1 s (a failover, or a replica far behind); their keys are sent again when the leases expire",
                               metadata: ["replicas": "\(replicas.count)", "acknowledged": "\(acknowledged)"])
            }
            return false
        }
        return queue.pinnedServerID == nil || queue.serverID == queue.pinnedServerID
    }

    /// When to write `count` pending outcomes, the oldest pending since `since` (see `SettlePolicy`).
    private func settleAt(_ count: Int, since: Date, retryAt: Date) -> Date {
        var fullHolding = room.fullHolding
        if !orderedRoutes.isEmpty && orderedHeld >= orderedCap { fullHolding = min(fullHolding ?? orderedHeld, orderedHeld) }
        return settlePolicy.dueAt(count: count, since: since, retryAt: retryAt, fullHolding: fullHolding)
    }

    /// Admits one taken batch and sends its requests. Items a dead holder left behind (marked
    /// `!<n>`) are admitted one at a time with a marker in Redis naming the item: if admitting
    /// it kills this worker, only that item is blamed, not everything the worker held.
    private func admit(_ batch: [[UInt8]], now: Double, queue: any DeliveryQueue, into pending: inout [Settlement]) {
        let suspects = batch.filter { $0.first == UInt8(ascii: "!") }
        let normal = suspects.isEmpty ? batch : batch.filter { $0.first != UInt8(ascii: "!") }
        if !normal.isEmpty {
            // Into the kept admission, emptied after use: its attempts array is tens of
            // kilobytes per round (see `RequestBuilder.requests(for:into:)` on why that matters).
            ledger.admit(normal, now: now, random: &random, into: &admission)
            dispatch(&admission, into: &pending)
            admission.attempts.removeAll(keepingCapacity: true)
            admission.settlements.removeAll(keepingCapacity: true)
            admission.notes.removeAll(keepingCapacity: true)
        }
        guard !suspects.isEmpty else { return }
        for item in suspects {
            try? queue.markAdmitting(sha1: Hex.string(Insecure.SHA1.hash(data: item)))
            var admitted = ledger.admit([item], now: now, random: &random)
            dispatch(&admitted, into: &pending)
        }
        try? queue.markAdmitting(sha1: nil)
    }

    /// Counts `admission`'s notes, queues its settlements for the next settle, and sends its
    /// attempts (or paces or postpones them, as the guard says). The attempts are taken out and
    /// handed on whole, so that they reach the ledger's tracking moved, not copied (see `send`);
    /// `admission.attempts` gets an empty array back, with the storage when the guard passed
    /// them all.
    private func dispatch(_ admission: inout DeliveryLedger.Admission, into pending: inout [Settlement]) {
        metrics.count(admission.notes, logger: logger)
        pending.append(contentsOf: admission.settlements)
        guard !admission.attempts.isEmpty else { return }
        var attempts: [DeliveryLedger.Attempt] = []
        swap(&attempts, &admission.attempts)
        var decided = endpointGuard.admit(consume attempts)
        if !decided.wait.isEmpty {
            let now = endpointGuard.now()
            for verdict in decided.wait {
                let completion = ledger.postpone(verdict, now: now)
                metrics.count(completion.notes, logger: logger)
                pending.append(contentsOf: completion.settlements)
            }
        }
        for entry in decided.paced { pacer.add(entry) }
        if !decided.paced.isEmpty {
            var released = pacer.release(now: Date())
            send(&released)
        }
        send(&decided.send)
        swap(&admission.attempts, &decided.send)
    }

    /// Takes back the queued (not yet started) requests of the endpoints that now lag: see
    /// `DeliveryLedger.laggards(now:)`. Only lanes holding more than they may run at once have
    /// queued requests, so a laggard at its cap costs nothing here.
    private func withdrawLaggards(now: Double) {
        var lanes: [Int] = []
        for (target, backlog) in ledger.laggards(now: now)
        where backlog > min(target.spec?.concurrency ?? .max, configuration.http.endpointConcurrency) {
            if let lane = builder.existingLane(for: target) { lanes.append(lane) }
        }
        if !lanes.isEmpty { http.withdrawWaiting(lanes: lanes) }
    }

    /// Builds the requests for `attempts` and submits them. `attempts` comes back empty: without
    /// Marzban-mode batches the builder takes the array itself (`RequestBuilder.requests`), and
    /// its attempts are moved into the ledger's tracking from its end, each held once. Copied
    /// (the array being the caller's too), each attempt's references were retained and then
    /// released when the round's array was emptied, about 15 counts per delivery.
    private func send(_ attempts: inout [DeliveryLedger.Attempt]) {
        guard !attempts.isEmpty else { return }
        builder.requests(for: &attempts, into: &built)
        // From the last request back, so each request's attempts are at the array's end.
        var end = built.attempts.count
        for index in built.requests.indices.reversed() {
            let count = built.counts[index]
            end -= count
            // The ledger names each request: its answer carries the token back to `complete`.
            if count == 1 {
                built.requests[index].token = ledger.track(attempt: built.attempts.removeLast())
            } else {
                built.requests[index].token = ledger.track(attempts: Array(built.attempts[end...]))
                built.attempts.removeLast(count)
            }
        }
        // Emptied, storage kept: the caller's array takes it back for the next round.
        swap(&attempts, &built.attempts)
        attempts.removeAll(keepingCapacity: true)
        built.attempts.removeAll(keepingCapacity: true)
        built.counts.removeAll(keepingCapacity: true)
        http.submit(moving: &built.requests)
    }

    /// At shutdown: attempts still waiting in memory for their slot go back to the delayed set
    /// with it, due at the slot, so whichever worker takes them sends them then.
    private func handBackPaced(now: Double, into pending: inout [Settlement]) {
        for entry in pacer.drain() {
            for attempt in entry.attempts {
                let completion = ledger.postpone(Postponement(attempt, after: max(0, entry.slot - now), slot: entry.slot,
                                                              reason: .shutdown), now: now)
                metrics.count(completion.notes, logger: logger)
                pending.append(contentsOf: completion.settlements)
            }
        }
    }

    /// Writes `pending` in batches split by count and bytes; each persisted batch frees room.
    /// Leaves what could not be written in `pending`.
    /// Counts a settle whose attempt-log write failed, warning once until a settle with records
    /// writes them again.
    private func noteLog(failed: Bool, wrote: Bool) {
        if failed {
            metrics.logFailed.increment()
            if !logFailing {
                logFailing = true
                logger.warning("could not write the attempt log (deliveries go on; its records are lost until it works again)",
                               metadata: ["key": "attempt log"])
            }
        } else if logFailing && wrote {
            logFailing = false
            logger.notice("the attempt log is written again")
        }
    }

    private func settle(_ pending: inout [Settlement], queue: any DeliveryQueue) throws(QueueError) {
        // Ordered claims first, each fenced by its key's lease (`settleOrdered`); what could not
        // be written stays pending.
        var ordered = pending.filter { $0.ordered != nil }
        if !ordered.isEmpty {
            pending.removeAll { $0.ordered != nil }
            defer { pending.append(contentsOf: ordered) }
            var settled = 0
            defer { ordered.removeFirst(settled) }  // runs before the append above
            for batch in Settlement.batches(ordered, maxCount: configuration.worker.settleMaxCount,
                                              maxBytes: configuration.worker.settleMaxBytes) {
                let result = try queue.settleOrdered(batch.compactMap(\.ordered), deadMax: configuration.worker.deadMax)
                settled += batch.count
                orderedHeld -= batch.count
                if result.fenced > 0 {
                    logger.warning("outcomes not written for ordered keys whose lease this worker no longer holds",
                                   metadata: ["keys": "\(result.fenced)"])
                }
                if result.trimmed > 0 { metrics.deadTrimmed.increment(by: Int64(result.trimmed)) }
                noteLog(failed: result.logFailed, wrote: batch.contains { !$0.log.isEmpty })
            }
            // A settled key may be ready again at once (its next head): ask now.
            nextClaimAt = .distantPast
        }
        let batches = Settlement.batches(pending, maxCount: configuration.worker.settleMaxCount,
                                              maxBytes: configuration.worker.settleMaxBytes)
        var written = 0
        defer { pending.removeFirst(written) }
        for batch in batches {
            let result = try queue.settle(batch, deadMax: configuration.worker.deadMax)
            written += batch.count
            // By index: iterating the settlements (as `lazy.map` does) copies each whole.
            room.release(batch.indices.lazy.map { batch[$0].ack })
            if result.fenced > 0 {
                logger.warning("outcomes not written for events no longer held by this worker (reaped, or already settled)",
                               metadata: ["events": "\(result.fenced)"])
            }
            noteLog(failed: result.logFailed, wrote: batch.contains { !$0.log.isEmpty })
            if result.trimmed > 0 {
                metrics.deadTrimmed.increment(by: Int64(result.trimmed))
                logger.warning("dead list over WEBHOOK_DEAD_MAX: oldest dead letters dropped",
                               metadata: ["dropped": "\(result.trimmed)", "max": "\(configuration.worker.deadMax)"])
            }
            var earliest: Double?
            for index in batch.indices {
                for case .retry(let after, _) in batch[index].outcomes { earliest = min(earliest ?? after, after) }
            }
            if let earliest { onRetryScheduled?(earliest) }
        }
    }

    /// First thing on another Redis server (a failover, a `MOVED`, a restart): puts back into
    /// this worker's processing list what it holds and that server does not have (takes lost in
    /// asynchronous replication, or everything after a restart without persistence), so their
    /// outcomes are written rather than fenced out and forgotten; then settles may go there.
    /// What is put back may also still be in that server's queue, and so be delivered twice:
    /// at-least-once allows that, losing it does not.
    private func restoreHeld(_ queue: any DeliveryQueue) throws(QueueError) {
        let held = room.heldItems()
        let listed = Set(try queue.processingItems())
        let missing = held.filter { !listed.contains($0) }
        let restored = try queue.restore(missing)
        queue.pinnedServerID = queue.serverID
        logger.warning("Redis is another server now (failover, redirect or restart): reconciled this worker's processing list",
                       metadata: ["server": "\(queue.serverID ?? "-")", "held": "\(held.count)", "put_back": "\(restored)"])
        onServerChanged?()
    }

    /// Enqueues breaker announcements as deliveries to the endpoints named in `notify` only.
    private func announce(_ announcements: [(target: Target, event: [UInt8])], queue: any DeliveryQueue) {
        guard !announcements.isEmpty else { return }
        let items = announcements.map { target, event in ledger.announcement(event, to: target, random: &random) }
        do { try queue.push(items) } catch {
            logger.warning("could not announce an endpoint's state change", metadata: ["error": "\(error)"])
        }
    }
}
