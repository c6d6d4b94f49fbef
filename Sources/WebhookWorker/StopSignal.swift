import Foundation

/// A stop flag that sleeping threads can wait on, so a stop request wakes them at once instead
/// of after their current sleep.
///
/// Unchecked Sendable: `stopped` is touched only under `condition` (a condition variable, which
/// sleepers wait on, so not a `Mutex`).
final class StopSignal: @unchecked Sendable {
    private let condition = NSCondition()
    private var stopped = false

    var isStopped: Bool {
        condition.lock(); defer { condition.unlock() }
        return stopped
    }

    func stop() {
        condition.lock()
        stopped = true
        condition.broadcast()
        condition.unlock()
    }

    /// Sleeps up to `seconds`; returns true when stopped (at once if already stopped).
    /// - Parameter beat: called at least once a second while sleeping, so a loop backing off on
    ///   purpose still shows progress to `/livez` (a backoff is not a stall).
    @discardableResult
    func sleep(_ seconds: Double, beat: (() -> Void)? = nil) -> Bool {
        let deadline = Date(timeIntervalSinceNow: max(0, seconds))
        condition.lock(); defer { condition.unlock() }
        while !stopped {
            let slice = beat == nil ? deadline : min(deadline, Date(timeIntervalSinceNow: 1))
            if !condition.wait(until: slice) {
                if slice >= deadline { break }
                condition.unlock()
                beat?()
                condition.lock()
            }
        }
        return stopped
    }
}
