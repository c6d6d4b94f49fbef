import Foundation

/// Bounds the request-body bytes the bridge holds at once, all connections together
/// (`INGEST_MAX_BUFFERED_BYTES`), so its memory has a ceiling whatever clients send.
///
/// Bodies whose sender is not authenticated yet (a hex HMAC can only be checked once the body is
/// read) may use half of it: strangers who fill their half cannot keep the panel, which sends
/// the raw secret and is authenticated by its headers, from being heard.
final class BodyBudget: @unchecked Sendable {
    // @unchecked: `used` and `unverifiedUsed` are only touched with `lock` held.
    private let lock = NSLock()
    let total: Int
    let unverifiedLimit: Int
    private var used = 0
    private var unverifiedUsed = 0

    init(total: Int) {
        self.total = total
        self.unverifiedLimit = total / 2
    }

    /// Takes `bytes` from the budget; false (and nothing taken) when they do not fit.
    func take(_ bytes: Int, verified: Bool) -> Bool {
        lock.lock()
        defer { lock.unlock() }
        guard used + bytes <= total, verified || unverifiedUsed + bytes <= unverifiedLimit else { return false }
        used += bytes
        if !verified { unverifiedUsed += bytes }
        return true
    }

    /// Gives back what `take` took.
    func give(_ bytes: Int, verified: Bool) {
        lock.lock()
        defer { lock.unlock() }
        used -= bytes
        if !verified { unverifiedUsed -= bytes }
    }

    /// Bytes held now.
    var inUse: Int {
        lock.lock()
        defer { lock.unlock() }
        return used
    }
}

/// What one request took from a ``BodyBudget``; grows as its body arrives and gives everything
/// back once, when the request is done.
final class BodyReservation {
    private let budget: BodyBudget
    private let verified: Bool
    /// Bytes taken so far.
    private(set) var bytes = 0

    init(budget: BodyBudget, verified: Bool) {
        self.budget = budget
        self.verified = verified
    }

    deinit { release() }

    /// Makes the reservation at least `needed` bytes, taking more than needed (up to `limit`)
    /// so that a body arriving in small pieces does not take the lock per piece. False when the
    /// budget cannot give it.
    func grow(to needed: Int, limit: Int) -> Bool {
        guard needed > bytes else { return true }
        let target = max(needed, min(limit, max(bytes * 2, 64 << 10)))
        if budget.take(target - bytes, verified: verified) {
            bytes = target
            return true
        }
        // Without the margin it may still fit.
        guard target > needed, budget.take(needed - bytes, verified: verified) else { return false }
        bytes = needed
        return true
    }

    /// Gives back everything taken (also done on deinit).
    func release() {
        guard bytes > 0 else { return }
        budget.give(bytes, verified: verified)
        bytes = 0
    }
}
