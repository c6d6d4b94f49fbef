import Foundation
import WebhookCore
import WebhookRedis

/// The pages built on the attempt log (`AttemptLog`): deliveries, an event's timeline, and the
/// endpoints' p95 latency.
extension DashboardStore {
    /// Attempts read for one endpoint's p95: the newest of the last hour, at most this many.
    static let latencySample = 500

    func deliveries(_ filters: DeliveriesPage.Filters) -> DeliveriesPage {
        locked {
            let endpoints = targets.map(\.name)
            var filter = AttemptFilter()
            func value(_ text: String) -> String? { text.isEmpty ? nil : text }
            filter.endpoint = value(filters.endpoint)
            filter.user = value(filters.user)
            filter.webhookID = value(filters.id)
            filter.action = value(filters.action)
            if !filters.outcome.isEmpty {
                guard let outcome = AttemptOutcome(argument: filters.outcome) else {
                    return DeliveriesPage(filters: filters, rows: [], endpoints: endpoints, problem: "outcome: unknown '\(filters.outcome)'")
                }
                filter.outcome = outcome
            }
            if !filters.since.isEmpty {
                guard let seconds = DurationText.seconds(filters.since.trimmingCharacters(in: .whitespaces)) else {
                    return DeliveriesPage(filters: filters, rows: [], endpoints: endpoints,
                                          problem: "since: expected a duration such as 90s, 10m, 2h or 1d, got '\(filters.since)'")
                }
                filter.since = AttemptFilter.since(seconds: seconds, nowMillis: UInt64(Date().timeIntervalSince1970 * 1000))
            }
            do {
                let records = try log.recent(filter, limit: max(1, min(filters.limit, 1000)))
                return DeliveriesPage(filters: filters, rows: records, endpoints: endpoints)
            } catch {
                return DeliveriesPage(filters: filters, rows: [], endpoints: endpoints, problem: "Redis cannot be read: \(error)")
            }
        }
    }

    /// Every attempt of the event behind `webhookID`, at every endpoint (its webhook-ids differ
    /// only in the endpoint part), oldest first, and the tries still waiting.
    func timeline(_ webhookID: String) -> TimelinePage {
        locked {
            do {
                var records = try log.forID(webhookID)
                let now = try queue.serverTime()
                var ids = [webhookID]
                if let sample = records.first, let cut = webhookID.lastIndex(of: "_") {
                    // The same event at the other endpoints: one bounded scan by its user and action.
                    let event = webhookID[...cut]
                    let siblings = try log.recent(AttemptFilter(user: sample.user, action: sample.action), limit: 1000)
                        .filter { $0.webhookID != webhookID && $0.webhookID.hasPrefix(event) }
                    records += siblings
                    ids += Set(siblings.map(\.webhookID)).sorted()
                }
                records.sort { $0.time < $1.time }
                var pending: [TimelinePage.Pending] = []
                for id in ids {
                    for (delivery, due) in try queue.pendingDeliveries(webhookID: id, authenticator: authenticator) {
                        let name = targets.first { $0.id == delivery.targetID || $0.aliases.contains(delivery.targetID) }?.name
                        pending.append(.init(endpoint: name ?? delivery.targetID, due: due, tries: delivery.tries))
                    }
                }
                return TimelinePage(webhookID: webhookID, attempts: records, pending: pending, now: now)
            } catch {
                return TimelinePage(webhookID: webhookID, attempts: [], pending: [], now: Date().timeIntervalSince1970,
                                    problem: "Redis cannot be read: \(error)")
            }
        }
    }

    /// The latencies (ms) of `endpoint`'s attempts over the last hour, newest first, at most
    /// ``latencySample``. Call with the lock held (from `endpoints`).
    func latencies(_ endpoint: String) -> [Int] {
        let since = AttemptFilter.since(seconds: 3600, nowMillis: UInt64(Date().timeIntervalSince1970 * 1000))
        let records = (try? log.recent(AttemptFilter(endpoint: endpoint, since: since), limit: Self.latencySample)) ?? []
        return records.compactMap(\.latencyMs)
    }
}
