import Foundation

/// When the dispatcher writes its pending outcomes: at once when a batch is full or something
/// waits for the room a settle frees, otherwise once the oldest outcome has waited `delay`.
///
/// Why batches: a rate-limited endpoint's answers trickle in one by one, and a settle per answer
/// (a script call and its TIME) was the largest part of its Redis commands per event. Each
/// settle also wakes Redis and, through the room it frees, the taker, and a wake-up on a busy
/// core preempts the HTTP thread: at 64 the taker woke twice as often per delivery as at 256
/// (0.022 against 0.010 voluntary switches, `benchlib/allocations.py`). Under load a batch of
/// 256 fills in milliseconds, so busy workers never wait.
///
/// Why the room bounds it: room is freed only by a settle, so a batch larger than the room holds
/// never fills. With a fixed batch of 64 and `WEBHOOK_MAX_INFLIGHT=32`, every 32 events waited
/// out the whole delay (about 600 events/s against a receiver that takes 30,000). So the batch is
/// at most a quarter of the room, and the taker keeps taking while one fills; and a room that is
/// full with fewer events (its bytes budget reached), or a full set of ordered claims, is
/// settled once a quarter of what it holds is pending. Not at once: under a backlog the room is
/// full nearly all the time, and settling whatever is pending then made a settle of a few
/// outcomes at every turn of the dispatcher (Redis commands per event 1.05 to 1.11).
struct SettlePolicy: Sendable {
    /// Outcomes written at once when this many are pending.
    let batch: Int
    /// How long the oldest pending outcome waits at most: short enough that room is freed and
    /// outcomes are durable promptly.
    let delay: Double

    /// The largest batch: the default take batch (`WEBHOOK_BATCH_SIZE`).
    static let largestBatch = 256

    init(maxInflightEvents: Int, delay: Double = 0.05) {
        batch = max(1, min(Self.largestBatch, maxInflightEvents / 4))
        self.delay = delay
    }

    /// When to write `count` pending outcomes, the oldest pending since `since`; never before
    /// `retryAt` (the backoff after a failed settle).
    /// - Parameter fullHolding: when the taker waits for room, or the ordered claims are at their
    ///   cap (only a settle lets them go on), how many events that full room holds; else nil.
    func dueAt(count: Int, since: Date, retryAt: Date, fullHolding: Int?) -> Date {
        let full = fullHolding.map { count >= max(1, $0 / 4) } ?? false
        return count >= batch || full ? retryAt : max(retryAt, since.addingTimeInterval(delay))
    }
}
