import Foundation
import Logging
import Metrics
import WebhookCore
import WebhookHTTP
import WebhookRedis

/// The taker thread: waits on Redis for work (a blocking command, no polling), moves batches into
/// the worker's processing list, parses them and hands the requests to the HTTP client.
final class Taker: @unchecked Sendable {
    private let configuration: Configuration
    private let workerID: String
    private let targets: [Target]
    private let table: InFlightTable
    private let http: HTTPClient
    private let settler: Settler
    private let stop: StopSignal
    private let registered: StopSignal
    private let logger: Logger
    private var builder: RequestBuilder
    private var nextEventID: UInt64 = 0
    private let taken = Counter(label: MetricNames.eventsTaken)
    private let malformed = Counter(label: MetricNames.malformedEvents)
    private let deferredCount = Counter(label: MetricNames.deliveries,
                                        dimensions: [("outcome", MetricNames.Outcome.deferred), ("status_class", "none")])

    init(configuration: Configuration, workerID: String, targets: [Target], table: InFlightTable,
         http: HTTPClient, settler: Settler, stop: StopSignal, registered: StopSignal, logger: Logger) {
        self.configuration = configuration
        self.workerID = workerID
        self.targets = targets
        self.table = table
        self.http = http
        self.settler = settler
        self.stop = stop
        self.registered = registered
        self.logger = logger
        self.builder = RequestBuilder(secret: configuration.secret, compat: configuration.compat,
                                      timeout: configuration.timeout)
    }

    func run() {
        let queue = RedisQueue(url: configuration.redis, prefix: configuration.keyPrefix, workerID: workerID)
        var backoff = Backoff()
        // Nothing is taken before the heartbeat exists, or a crash could strand it.
        while !registered.isStopped && !stop.isStopped { registered.sleep(0.5) }
        while !stop.isStopped {
            let room = table.waitForRoom(stop: stop)
            if stop.isStopped { break }
            do {
                let items = try queue.take(max: min(configuration.batchSize, room))
                backoff.reset()
                if items.isEmpty {
                    // Blocks in Redis until a producer pushes; the timeout only bounds how long a
                    // stop request waits.
                    _ = try queue.waitForWork(timeout: 1)
                    continue
                }
                dispatch(items)
            } catch {
                let delay = backoff.next()
                logger.warning("taking work failed, retrying", metadata: [
                    "error": "\(error)", "retry_in": "\(String(format: "%.2f", delay))s"])
                stop.sleep(delay)
            }
        }
    }

    private func dispatch(_ items: [TakenItem]) {
        let now = Date().timeIntervalSince1970
        var events: [(UInt64, InFlightEvent)] = []
        var units: [(DeliveryUnit, Event)] = []
        var decided: [(UInt64, Resolution)] = []  // outcomes known without a request
        events.reserveCapacity(items.count)
        units.reserveCapacity(items.count * targets.count)

        for taken in items {
            nextEventID &+= 1
            let id = nextEventID
            switch taken.item {
            case .event(let tag, let raw):
                do {
                    let event = try Event.parse(Array(raw), maxBytes: configuration.maxPayloadBytes, now: now)
                    events.append((id, InFlightEvent(stored: taken.stored, event: event, pending: targets.count)))
                    let tag = tag ?? Self.randomTag()
                    for target in targets {
                        let unit = DeliveryUnit(eventID: id, target: target, tries: 0,
                                                webhookID: QueueItem.webhookID(tag: tag, target: target))
                        admit(unit, event, into: &units, deferred: &decided, now: now)
                    }
                } catch {
                    events.append((id, InFlightEvent(stored: taken.stored, event: nil, pending: 1)))
                    decided.append((id, reject(Array(raw), target: nil, reason: error.reason, now: now)))
                    malformed.increment()
                }
            case .delivery(let delivery):
                do {
                    let event = try Event.parse(delivery.raw, maxBytes: configuration.maxPayloadBytes, now: now)
                    events.append((id, InFlightEvent(stored: taken.stored, event: event, pending: 1)))
                    let unit = DeliveryUnit(eventID: id, target: delivery.target, tries: delivery.tries,
                                            webhookID: delivery.webhookID)
                    admit(unit, event, into: &units, deferred: &decided, now: now)
                } catch {
                    events.append((id, InFlightEvent(stored: taken.stored, event: nil, pending: 1)))
                    decided.append((id, reject(delivery.raw, target: delivery.target, reason: error.reason, now: now)))
                    malformed.increment()
                }
            }
        }

        let requests = builder.requests(for: units, now: now)
        table.add(events: events, requests: requests.map { ($0.0.token, $0.1) })
        taken.increment(by: Int64(items.count))
        if !requests.isEmpty { http.submit(requests.map(\.0)) }
        if !decided.isEmpty {
            settler.post(resolutions: decided)
        }
    }

    /// Sends the unit now, or, when its endpoint lags far behind the others, parks it in the
    /// delayed set for the next poll without counting a try.
    private func admit(_ unit: DeliveryUnit, _ event: Event, into units: inout [(DeliveryUnit, Event)],
                       deferred: inout [(UInt64, Resolution)], now: Double) {
        if table.reserve(unit.target, others: targets, slack: max(1, configuration.maxInflightEvents / 2)) {
            units.append((unit, event))
            return
        }
        let item = QueueItem.delivery(Delivery(webhookID: unit.webhookID, tries: unit.tries,
                                               target: unit.target, raw: event.bytes))
        deferred.append((unit.eventID, .retry(due: now + max(1, configuration.pollInterval), item: item.encoded())))
        deferredCount.increment()
    }

    /// A malformed item becomes a dead letter at once: retrying cannot fix it.
    private func reject(_ payload: [UInt8], target: Target?, reason: String, now: Double) -> Resolution {
        logger.warning("malformed event moved to dead letters", metadata: [
            "reason": "\(reason)", "bytes": "\(payload.count)"])
        let letter = DeadLetter(payload: payload, target: target, webhookID: nil, attempts: 0,
                                lastStatus: nil, lastError: nil, failedAt: now,
                                reason: "malformed event: \(reason)")
        return .dead(entry: letter.encoded())
    }

    /// Only for an untagged event, which the take script never returns; kept so a raw item can
    /// still be delivered with a unique id.
    private static func randomTag() -> String {
        let alphabet = Array("0123456789abcdefghijklmnopqrstuvwxyz")
        return String((0..<16).map { _ in alphabet.randomElement()! })
    }
}
