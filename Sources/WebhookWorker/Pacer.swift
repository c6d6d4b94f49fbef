import Foundation
import WebhookCore

/// Attempts holding a rate-limit slot that is near, waiting in memory until it comes. Owned by
/// the dispatcher thread.
///
/// Why in memory: a slot less than a few seconds away is not worth a trip through the delayed
/// set (three Redis commands per event, and the poller would wake for every slot). Each entry
/// is one request's worth: one attempt, or a Marzban-mode batch that shares one slot.
///
/// Why the spacing: a slot is a time on Redis's clock after which one request may go. A
/// dispatcher that was busy (a slow settle, a stalled Redis) finds several slots passed at once;
/// sending them together would be a burst the limit was meant to prevent. So each scope's
/// releases from this worker stay an interval apart, except that a dispatcher running late may
/// catch up by `catchUp(interval)` (at most two intervals, at most 50 ms): running late shifts
/// requests later, and bunches at most two or three of them.
struct Pacer {
    struct Entry {
        /// When it may go, on this process's clock.
        var at: Date
        let scope: RateScope
        let interval: Double
        /// The slot on Redis's clock (to hand the entry back with it at shutdown).
        let slot: Double
        let attempts: [DeliveryLedger.Attempt]
    }

    /// Sorted by `at`.
    private var entries: [Entry] = []
    /// Per scope, the earliest time its next entry may go.
    private var nextAllowed: [RateScope: Date] = [:]
    /// When `release` should next be called.
    private(set) var nextTime: Date?

    var isEmpty: Bool { entries.isEmpty }
    var count: Int { entries.count }

    /// How far behind its slots a late dispatcher may send without spacing (see the type's doc).
    static func catchUp(_ interval: Double) -> Double { min(0.05, 2 * interval) }

    mutating func add(_ entry: Entry) {
        var low = 0, high = entries.count
        while low < high {
            let middle = (low + high) / 2
            if entries[middle].at <= entry.at { low = middle + 1 } else { high = middle }
        }
        entries.insert(entry, at: low)
        let at = max(entry.at, nextAllowed[entry.scope] ?? .distantPast)
        nextTime = min(nextTime ?? at, at)
    }

    /// Removes and returns the attempts whose time has come, keeping each scope's releases
    /// spaced (see the type's doc).
    mutating func release(now: Date) -> [DeliveryLedger.Attempt] {
        var out: [DeliveryLedger.Attempt] = []
        var wake: Date?
        var index = 0
        while index < entries.count {
            let entry = entries[index]
            guard entry.at <= now else {
                wake = min(wake ?? entry.at, entry.at)
                break
            }
            let allowed = nextAllowed[entry.scope] ?? .distantPast
            if allowed > now {
                wake = min(wake ?? allowed, allowed)
                index += 1
                continue
            }
            // A little slack: the GCRA spaced the slots exactly, our clock reads them late.
            let base = max(allowed, now.addingTimeInterval(-Self.catchUp(entry.interval)))
            nextAllowed[entry.scope] = base.addingTimeInterval(entry.interval * 0.98)
            out.append(contentsOf: entry.attempts)
            entries.remove(at: index)
        }
        nextTime = entries.isEmpty ? nil : wake
        if entries.isEmpty { nextAllowed = nextAllowed.filter { $0.value > now } }
        return out
    }

    /// Everything still waiting, for the hand-back at shutdown.
    mutating func drain() -> [Entry] {
        defer {
            entries.removeAll()
            nextTime = nil
        }
        return entries
    }
}
