import Metrics
import WebhookCore
import WebhookRedis

/// The fleet-wide gauges dashboards and alert rules read besides the depths: live workers, the
/// age of the next item to take, Redis's memory, readiness, and each endpoint's breaker. Every
/// process with a health probe (each worker with `WEBHOOK_METRICS_LISTEN`, the bridge) reports
/// the same fleet-wide values: aggregate them with `max`, not `sum`.
///
/// Read on the health probe's thread (blocking calls), recorded from its results.
final class FleetGauges {
    /// One reading: what `record` turns into gauge values.
    struct Reading {
        var fleet: FleetReadings
        /// Endpoint name and breaker state (0 ok, 1 open, 2 paused); endpoints whose state
        /// could not be read are left out (their gauge keeps its last value).
        var breakers: [(endpoint: String, state: Int)]
        var ordered: [(endpoint: String, gauge: RedisQueue.OrderedGauge)] = []
    }

    private let endpoints: [String]
    private let state: EndpointState?
    private let workersAlive = Gauge(label: MetricNames.workersAlive)
    private let oldestAge = Gauge(label: MetricNames.queueOldestAge)
    private let usedMemory = Gauge(label: MetricNames.redisUsedMemory)
    private let maxMemory = Gauge(label: MetricNames.redisMaxMemory)
    private let ready = Gauge(label: MetricNames.ready)
    private var breakerGauges: [String: Gauge] = [:]
    /// Ordered endpoints (name, target id) and their two gauges each.
    private let ordered: [(name: String, targetID: String)]
    private var orderedGauges: [String: (blocked: Gauge, oldest: Gauge)] = [:]

    /// - Parameters:
    ///   - endpoints: the endpoint names whose breaker state to report (a worker's; none on the
    ///     bridge).
    init(redis: RedisURL, prefix: String, endpoints: [String], ordered: [(name: String, targetID: String)] = []) {
        self.endpoints = endpoints
        self.ordered = ordered
        for endpoint in ordered {
            orderedGauges[endpoint.name] = (Gauge(label: MetricNames.orderedBlockedKeys, dimensions: [("endpoint", endpoint.name)]),
                                            Gauge(label: MetricNames.orderedOldestBlockedAge, dimensions: [("endpoint", endpoint.name)]))
        }
        self.state = endpoints.isEmpty ? nil : EndpointState(url: redis, prefix: prefix)
        for endpoint in endpoints {
            breakerGauges[endpoint] = Gauge(label: MetricNames.breakerState, dimensions: [("endpoint", endpoint)])
        }
    }

    /// Reads Redis (blocking): a failed fleet reading throws. The first failed endpoint read
    /// ends the endpoint reads of this round: against a Redis that hangs, each would wait out
    /// the read timeout, and the probe's round must stay well inside its liveness bound.
    func read(_ queue: RedisQueue) throws -> Reading {
        let fleet = try queue.fleetReadings()
        var breakers: [(String, Int)] = []
        if let state {
            for endpoint in endpoints {
                guard let status = try? state.status(endpoint: endpoint) else { break }
                switch status.state {
                case .ok: breakers.append((endpoint, 0))
                case .open: breakers.append((endpoint, 1))
                case .paused: breakers.append((endpoint, 2))
                }
            }
        }
        var reading = Reading(fleet: fleet, breakers: breakers)
        for endpoint in ordered {
            guard let gauge = try? queue.orderedGauge(targetID: endpoint.targetID) else { break }
            reading.ordered.append((endpoint.name, gauge))
        }
        return reading
    }

    func record(_ reading: Reading?, depths: QueueDepths) {
        workersAlive.record(depths.workers.count)
        guard let reading else { return }
        oldestAge.record(reading.fleet.oldestAge ?? 0)
        if let used = reading.fleet.usedMemory { usedMemory.record(used) }
        if let max = reading.fleet.maxMemory { maxMemory.record(max) }
        for (endpoint, state) in reading.breakers { breakerGauges[endpoint]?.record(state) }
        for (endpoint, gauge) in reading.ordered {
            orderedGauges[endpoint]?.blocked.record(gauge.blockedKeys)
            orderedGauges[endpoint]?.oldest.record(gauge.oldestBlockedAge ?? 0)
        }
    }

    func record(ready isReady: Bool) {
        ready.record(isReady ? 1 : 0)
    }
}
