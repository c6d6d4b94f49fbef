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
/// out the whole delay (about 600 events/s against a receiver that takes 30,000): the batch is at
/// most a quarter of the room, so the taker keeps taking while one fills, and a full room
/// (events or bytes) or a full set of ordered claims is settled at once.
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
    /// - Parameter waiting: the taker waits for room, or the ordered claims are at their cap:
    ///   only a settle lets them go on.
    func dueAt(count: Int, since: Date, retryAt: Date, waiting: Bool) -> Date {
        count >= batch || waiting ? retryAt : max(retryAt, since.addingTimeInterval(delay))
    }
}
