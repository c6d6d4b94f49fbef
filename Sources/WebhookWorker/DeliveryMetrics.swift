import Logging
import Metrics
import WebhookCore

/// The dispatcher's metrics and the log lines for notable outcomes, from the ledger's notes.
/// Counters are created once per label pair: creating one goes through the factory's lock.
final class DeliveryMetrics {
    let attemptDuration = Timer(label: MetricNames.attemptDuration)
    let inflight = Gauge(label: MetricNames.inflightRequests)
    let deadTrimmed = Counter(label: MetricNames.deadTrimmed)
    let logFailed = Counter(label: MetricNames.attemptLogFailures)
    private let malformed = Counter(label: MetricNames.malformedEvents)
    private var deliveries: [CounterKey: Counter] = [:]
    private var skipped: [String: Counter] = [:]
    /// The `delivered`, `2xx` counter of each configured endpoint, by the target's identity:
    /// the note of nearly every delivery, counted without hashing three strings. The target is
    /// held, so its identity is never another's. Routed targets (one per event and destination)
    /// are not kept here: they take the path by labels.
    private var deliveredOK: [ObjectIdentifier: (target: Target, counter: Counter)] = [:]
    /// The last of them: a run of deliveries to one endpoint (the common case) looks nothing up
    /// (an `ObjectIdentifier` key still went through SipHash). Set only from `deliveredOK`,
    /// which keeps its target alive, so the identity stays that target's.
    private var lastDeliveredOK: (id: ObjectIdentifier, counter: Counter)?

    /// The labels of one `deliveries` counter, as a key: no string is built per lookup.
    private struct CounterKey: Hashable {
        let outcome: String
        let statusClass: String
        let endpoint: String
    }

    func count(_ notes: [DeliveryLedger.Note], logger: Logger) {
        // Through pointers: `for note in notes` copied each note (its target and strings
        // retained), and so did passing one borrowed to a method.
        notes.withUnsafeBufferPointer { notes in
            guard let first = notes.baseAddress else { return }
            for index in notes.indices { count(one: first + index, logger: logger) }
        }
    }

    private func count(one note: UnsafePointer<DeliveryLedger.Note>, logger: Logger) {
        if note.pointee.kind == .delivered, (200..<300).contains(note.pointee.status),
           let target = note.pointee.target, target.destination == nil {
            let id = ObjectIdentifier(target)
            if let last = lastDeliveredOK, last.id == id { return last.counter.increment() }
            if let known = deliveredOK[id] {
                lastDeliveredOK = (id, known.counter)
                return known.counter.increment()
            }
            let counter = counter(MetricNames.Outcome.delivered, MetricNames.StatusClass.of(status: note.pointee.status), target.name)
            deliveredOK[id] = (target, counter)
            lastDeliveredOK = (id, counter)
            return counter.increment()
        }
        let statusClass = note.pointee.status > 0 ? MetricNames.StatusClass.of(status: note.pointee.status) : "none"
        let endpoint = note.pointee.target?.name ?? ""
        switch note.pointee.kind {
        case .delivered: counter(MetricNames.Outcome.delivered, statusClass, endpoint).increment()
        case .retry:
            counter(MetricNames.Outcome.retry, note.pointee.status > 0 ? statusClass : "error", endpoint).increment()
            logger.debug("attempt failed, retry scheduled", metadata: metadata(note.pointee))
        case .deferred: counter(MetricNames.Outcome.deferred, "none", endpoint).increment()
        case .rateLimited:
            counter(MetricNames.Outcome.deferred, statusClass, endpoint).increment()
            logger.debug("rate-limited, waiting without counting a try", metadata: metadata(note.pointee))
        case .handedBack: counter(MetricNames.Outcome.handedBack, "error", endpoint).increment()
        case .dead:
            counter(MetricNames.Outcome.dead, note.pointee.status > 0 ? statusClass : "error", endpoint).increment()
            logger.warning("delivery moved to dead letters", metadata: metadata(note.pointee))
        case .rejected:
            malformed.increment()
            logger.warning("item moved to dead letters without delivery", metadata: metadata(note.pointee))
        case .skipped:
            skippedCounter(endpoint).increment()
        case .refused:
            counter(MetricNames.Outcome.dead, "error", endpoint).increment()
            logger.warning("destination from the event refused; moved to dead letters, not sent", metadata: metadata(note.pointee))
        }
    }

    private func metadata(_ note: DeliveryLedger.Note) -> Logger.Metadata {
        var out: Logger.Metadata = [:]
        if let target = note.target {
            out["endpoint"] = "\(target.name)"
            out["url"] = "\(target.redactedURL)"
        }
        if let id = note.webhookID { out["webhook_id"] = "\(id)" }
        if note.status > 0 { out["status"] = "\(note.status)" }
        if case .failed(let failure) = note.cause { out["error_class"] = "\(failure.rawValue)" }
        if let reason = note.reason { out["reason"] = "\(reason)" }
        return out
    }

    private func skippedCounter(_ endpoint: String) -> Counter {
        if let counter = skipped[endpoint] { return counter }
        let counter = Counter(label: MetricNames.deliveriesSkipped, dimensions: [("endpoint", endpoint)])
        skipped[endpoint] = counter
        return counter
    }

    private func counter(_ outcome: String, _ statusClass: String, _ endpoint: String) -> Counter {
        let key = CounterKey(outcome: outcome, statusClass: statusClass, endpoint: endpoint)
        if let counter = deliveries[key] { return counter }
        let counter = Counter(label: MetricNames.deliveries,
                              dimensions: [("outcome", outcome), ("status_class", statusClass), ("endpoint", endpoint)])
        deliveries[key] = counter
        return counter
    }
}
