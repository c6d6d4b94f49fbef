import Foundation
import Logging
import Metrics
import WebhookCore
import WebhookHTTP
import WebhookRedis

/// The settler thread: turns finished attempts into outcomes (delivered, retry, dead letter,
/// hand back) and writes every finished event to Redis in one atomic script per batch.
///
/// An event's outcomes are held until all its targets are resolved, so a crash never leaves a
/// retry scheduled for an event that is also still in the processing list.
final class Settler: @unchecked Sendable {
    private let configuration: Configuration
    private let workerID: String
    private let table: InFlightTable
    private let logger: Logger
    private let condition = NSCondition()
    private var responses: [HTTPResponse] = []
    private var resolutions: [(UInt64, Resolution)] = []
    private var finishing = false
    /// Called with the earliest due time of retries just scheduled, so the poller can wake.
    var onRetryScheduled: (@Sendable (Double) -> Void)?
    /// Reads the HTTP client's in-flight count for the gauge.
    var inFlightRequests: (@Sendable () -> Int)?
    private let inFlightGauge = Gauge(label: MetricNames.inflightRequests)
    private let attemptDuration = Timer(label: MetricNames.attemptDuration)
    private var counters: [String: Counter] = [:]

    init(configuration: Configuration, workerID: String, table: InFlightTable, logger: Logger) {
        self.configuration = configuration
        self.workerID = workerID
        self.table = table
        self.logger = logger
    }

    /// Completed HTTP attempts, from the HTTP thread.
    func post(responses new: [HTTPResponse]) {
        condition.lock()
        responses.append(contentsOf: new)
        condition.signal()
        condition.unlock()
    }

    /// Outcomes decided without a request (malformed items).
    func post(resolutions new: [(UInt64, Resolution)]) {
        condition.lock()
        resolutions.append(contentsOf: new)
        condition.signal()
        condition.unlock()
    }

    /// Asks the loop to drain what it has and return.
    func finish() {
        condition.lock()
        finishing = true
        condition.signal()
        condition.unlock()
    }

    func run() {
        let queue = RedisQueue(url: configuration.redis, prefix: configuration.keyPrefix, workerID: workerID)
        var generator = SystemRandomNumberGenerator()
        var pending = SettleBatch(acks: [], retries: [], requeue: [], dead: [])
        var backoff = Backoff()
        var failedSince: Date?
        while true {
            condition.lock()
            while responses.isEmpty && resolutions.isEmpty && !finishing && pending.acks.isEmpty {
                condition.wait()
            }
            let newResponses = responses, newResolutions = resolutions, done = finishing
            responses.removeAll(keepingCapacity: true)
            resolutions.removeAll(keepingCapacity: true)
            condition.unlock()

            var outcomes = newResolutions
            for response in newResponses {
                outcomes.append(contentsOf: decide(response, random: &generator))
            }
            for event in table.resolve(outcomes) { add(event, to: &pending) }
            if let inFlightRequests { inFlightGauge.record(inFlightRequests()) }
            if pending.acks.isEmpty {
                if done { return }
                continue
            }
            do {
                try queue.settle(pending)
                if let earliest = pending.retries.map(\.due).min() { onRetryScheduled?(earliest) }
                pending = SettleBatch(acks: [], retries: [], requeue: [], dead: [])
                backoff.reset()
                failedSince = nil
                table.signalRoom()
            } catch {
                let since = failedSince ?? Date()
                failedSince = since
                // At shutdown, give up after the grace period: what stays in the processing list
                // is requeued by another worker once this one's heartbeat expires.
                if done && Date().timeIntervalSince(since) > configuration.shutdownGrace {
                    logger.error("could not settle before exit; another worker will requeue the held events",
                                 metadata: ["error": "\(error)", "events": "\(pending.acks.count)"])
                    return
                }
                let delay = backoff.next()
                logger.warning("settling failed, retrying", metadata: [
                    "error": "\(error)", "retry_in": "\(String(format: "%.2f", delay))s"])
                Thread.sleep(forTimeInterval: delay)
            }
        }
    }

    private func add(_ event: InFlightEvent, to batch: inout SettleBatch) {
        batch.acks.append(event.stored)
        for resolution in event.resolutions {
            switch resolution {
            case .delivered: break
            case .retry(let due, let item): batch.retries.append((due: due, item: item))
            case .requeue(let item): batch.requeue.append(item)
            case .dead(let entry): batch.dead.append(entry)
            }
        }
    }

    /// Decides the outcome for every unit a finished request carried.
    private func decide(_ response: HTTPResponse, random: inout SystemRandomNumberGenerator) -> [(UInt64, Resolution)] {
        guard let units = table.takeRequest(response.token) else { return [] }
        let now = Date().timeIntervalSince1970
        if !response.cancelled { attemptDuration.recordSeconds(response.duration) }
        let result: AttemptResult
        if response.cancelled {
            result = .cancelled
        } else if response.status > 0 {
            result = .status(response.status, retryAfter: response.retryAfter, body: response.body)
        } else {
            result = .transportError(response.error ?? "no response")
        }
        let statusClass = MetricNames.StatusClass.of(status: response.status)
        var out: [(UInt64, Resolution)] = []
        out.reserveCapacity(units.count)
        for unit in units {
            guard let event = table.event(unit.eventID) else { continue }
            let resolution: Resolution
            let outcome: String
            if response.cancelled {
                // Handed back at shutdown: not an attempt, so tries stay as they were.
                resolution = .requeue(item: item(unit, event, tries: unit.tries))
                outcome = MetricNames.Outcome.handedBack
            } else {
                switch configuration.retry.decide(tries: unit.tries, result: result,
                                                  isDiscord: unit.target.kind == .discord, random: &random) {
                case .delivered:
                    resolution = .delivered
                    outcome = MetricNames.Outcome.delivered
                case .retry(let after, let tries):
                    resolution = .retry(due: now + after, item: item(unit, event, tries: tries))
                    outcome = tries == unit.tries ? MetricNames.Outcome.deferred : MetricNames.Outcome.retry
                    logger.debug("attempt failed, retry scheduled", metadata: [
                        "endpoint": "\(unit.target.url)", "webhook_id": "\(unit.webhookID)",
                        "status": "\(response.status)", "retry_in": "\(Int(after))s"])
                case .dead(let reason):
                    let letter = DeadLetter(payload: event.bytes, target: unit.target, webhookID: unit.webhookID,
                                            attempts: unit.tries + 1,
                                            lastStatus: response.status > 0 ? response.status : nil,
                                            lastError: response.error, failedAt: now, reason: reason)
                    resolution = .dead(entry: letter.encoded())
                    outcome = MetricNames.Outcome.dead
                    logger.warning("delivery moved to dead letters", metadata: [
                        "endpoint": "\(unit.target.url)", "webhook_id": "\(unit.webhookID)", "reason": "\(reason)"])
                }
            }
            deliveries(outcome, statusClass).increment()
            out.append((unit.eventID, resolution))
        }
        return out
    }

    /// Counters are looked up once per label pair: creating one goes through the factory's lock.
    private func deliveries(_ outcome: String, _ statusClass: String) -> Counter {
        let key = outcome + "|" + statusClass
        if let counter = counters[key] { return counter }
        let counter = Counter(label: MetricNames.deliveries,
                              dimensions: [("outcome", outcome), ("status_class", statusClass)])
        counters[key] = counter
        return counter
    }

    private func item(_ unit: DeliveryUnit, _ event: Event, tries: Int) -> [UInt8] {
        QueueItem.delivery(Delivery(webhookID: unit.webhookID, tries: tries, target: unit.target,
                                    raw: event.bytes)).encoded()
    }
}
