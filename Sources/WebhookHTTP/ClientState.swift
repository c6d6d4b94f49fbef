import Glibc
import Synchronization

/// What `HTTPClient`'s callers and its thread share: the inbox of new requests, the cancel and
/// stop requests, and counters. The lock is never held across a network call.
final class ClientState: Sendable {
    struct Shared {
        var inbox: [HTTPRequest] = []
        /// Requests submitted before `cancelAll()` that the client's thread has not yet seen.
        var toCancel: [HTTPRequest] = []
        var cancelRequested = false
        /// Cancel only what has not started (inbox and lanes), letting running transfers finish.
        var cancelWaitingRequested = false
        var stopping = false
        /// A wake-up was sent and the thread has not drained the inbox since: no need for more.
        var wakePending = false
        var inFlight = 0
    }

    /// One drain of the inbox by the client's thread.
    struct Work {
        var requests: [HTTPRequest]
        var toCancel: [HTTPRequest]
        var cancel: Bool
        var cancelWaiting: Bool
        var stop: Bool
    }

    private let waker: HTTPWaker
    private let shared = Mutex(Shared())
    private let opened = Atomic<Int>(0)
    private let loopThread = Mutex<pthread_t?>(nil)

    init(waker: HTTPWaker) {
        self.waker = waker
    }

    var inFlight: Int { shared.withLock { $0.inFlight } }
    var connectionsOpened: Int { opened.load(ordering: .relaxed) }

    /// Queues requests for the thread; false (nothing queued) once the client is stopping.
    func submit(_ requests: [HTTPRequest]) -> Bool {
        shared.withLock { state in
            guard !state.stopping else { return false }
            state.inbox.append(contentsOf: requests)
            state.inFlight += requests.count
            wakeIfNeeded(&state)
            return true
        }
    }

    /// Cancels what has not started (inbox and lanes); with `running` also what is on the wire.
    func requestCancel(running: Bool) {
        shared.withLock { state in
            guard !state.stopping else { return }
            state.toCancel.append(contentsOf: state.inbox)
            state.inbox.removeAll()
            if running { state.cancelRequested = true } else { state.cancelWaitingRequested = true }
            wakeIfNeeded(&state)
        }
    }

    /// Asks the loop to stop; true for the first call only.
    func requestStop() -> Bool {
        let first = shared.withLock { state in
            guard !state.stopping else { return false }
            state.stopping = true
            return true
        }
        if first { waker.wake() }
        return first
    }

    /// Called by the thread at the top of each iteration.
    func takeWork() -> Work {
        shared.withLock { state in
            state.wakePending = false
            let work = Work(requests: state.inbox, toCancel: state.toCancel, cancel: state.cancelRequested,
                            cancelWaiting: state.cancelWaitingRequested, stop: state.stopping)
            state.inbox = []
            state.toCancel = []
            state.cancelRequested = false
            state.cancelWaitingRequested = false
            return work
        }
    }

    /// Called by the thread before it hands completions to the caller.
    func completed(_ count: Int, connectionsOpened: Int) {
        shared.withLock { $0.inFlight -= count }
        opened.store(connectionsOpened, ordering: .relaxed)
    }

    func setLoopThread() {
        let me = pthread_self()
        loopThread.withLock { $0 = me }
    }

    var isOnLoopThread: Bool {
        let me = pthread_self()
        return loopThread.withLock { thread in thread.map { pthread_equal($0, me) != 0 } ?? false }
    }

    private func wakeIfNeeded(_ state: inout Shared) {
        guard !state.wakePending else { return }
        state.wakePending = true
        waker.wake()
    }
}
