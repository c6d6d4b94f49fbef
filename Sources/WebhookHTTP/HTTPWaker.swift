import CCurl
import Synchronization

/// Wakes an `HTTPEngine` sleeping in `run(maxWait:into:)`, from any thread.
///
/// The only curl call made off the engine's thread is `curl_multi_wakeup`, which writes to the
/// multi handle's socket pair. It runs under a lock that `close()` also takes before the handle is
/// freed, so a wake-up can never race with the clean-up. A wake-up sent while the engine is busy
/// is kept: its next sleep returns at once.
public final class HTTPWaker: Sendable {
    private let multi: Mutex<MultiHandle?>

    init(multi: MultiHandle) {
        self.multi = Mutex(multi)
    }

    /// Ends the engine's current (or next) sleep; does nothing once the engine is closed.
    public func wake() {
        multi.withLock { handle in
            if let handle { curl_multi_wakeup(handle.raw) }
        }
    }

    /// Called by the engine before it frees the multi handle.
    func close() {
        multi.withLock { $0 = nil }
    }
}

/// A CURLM pointer that may cross threads: only `curl_multi_wakeup` is called off the engine's
/// thread, through `HTTPWaker`.
struct MultiHandle: @unchecked Sendable {
    let raw: UnsafeMutableRawPointer
}
