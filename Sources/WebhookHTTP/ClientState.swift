import CCurl
import Glibc
import Synchronization

/// What callers and the curl thread share: the inbox of new requests, the cancel and stop
/// requests, and counters. The lock is never held across a network call; the only curl call made
/// under it is `curl_multi_wakeup`, which just writes to a socket pair, and holding the lock there
/// guarantees no wake-up can race with the multi handle's clean-up.
final class ClientState: Sendable {
    struct Shared {
        /// The submitted arrays, each kept whole: appending their requests to one queue copied
        /// each (retaining all it holds) and released the originals on the submitting thread.
        /// Swapped with the curl thread's empty one at each drain (both keep their storage); the
        /// curl thread moves the requests out (see `CurlLoop.run`).
        var inbox: [[HTTPRequest]] = []
        /// Requests submitted before `cancelAll()` that the curl thread has not yet seen.
        var toCancel: [HTTPRequest] = []
        var cancelRequested = false
        /// Cancel only what has not started (inbox and lanes), letting running transfers finish.
        var cancelWaitingRequested = false
        /// Lanes whose waiting requests are to be withdrawn (`HTTPClient.withdrawWaiting`).
        var withdrawLanes: Set<Int> = []
        var stopping = false
        /// A wake-up was sent and the curl thread has not drained the inbox since: no need for more.
        var wakePending = false
        var inFlight = 0
        /// A submitted array the curl thread emptied, storage kept, which the next `submit`
        /// hands back to its caller for its next round (see `submit(moving:)`).
        var spare: [HTTPRequest]?
    }

    /// One drain of the inbox by the curl thread (the requests themselves go to its own deque).
    struct Work {
        var toCancel: [HTTPRequest]
        var cancel: Bool
        var cancelWaiting: Bool
        var withdrawLanes: Set<Int>
        var stop: Bool
    }

    let multi: MultiHandle
    private let shared = Mutex(Shared())
    private let opened = Atomic<Int>(0)
    private let loopThread = Mutex<pthread_t?>(nil)

    init(multi: MultiHandle) {
        self.multi = multi
    }

    var inFlight: Int { shared.withLock { $0.inFlight } }
    var connectionsOpened: Int { opened.load(ordering: .relaxed) }
    var isStopping: Bool { shared.withLock { $0.stopping } }

    /// Queues requests for the curl thread; false (nothing queued) once the client is stopping.
    /// The array is moved into the inbox (`requests` is left empty) only when they are queued.
    func submit(moving requests: inout [HTTPRequest]) -> Bool {
        shared.withLock { state in
            guard !state.stopping else { return false }
            state.inFlight += requests.count
            state.inbox.append([])
            swap(&state.inbox[state.inbox.count - 1], &requests)
            // The caller's next round fills the array the curl thread emptied: a round's array
            // is kilobytes, and a new one each round made the caller's malloc consolidate.
            if let spare = state.spare.take() { requests = spare }
            wakeIfNeeded(&state)
            return true
        }
    }

    /// Cancels what has not started (inbox and lanes); with `running` also what is on the wire.
    func requestCancel(running: Bool) {
        shared.withLock { state in
            guard !state.stopping else { return }
            state.toCancel.append(contentsOf: state.inbox.joined())
            state.inbox.removeAll()
            if running { state.cancelRequested = true } else { state.cancelWaitingRequested = true }
            wakeIfNeeded(&state)
        }
    }

    /// Asks the curl thread to withdraw the waiting requests of `lanes` (after queueing the inbox).
    func requestWithdraw(lanes: some Sequence<Int>) {
        shared.withLock { state in
            guard !state.stopping else { return }
            state.withdrawLanes.formUnion(lanes)
            wakeIfNeeded(&state)
        }
    }

    /// Asks the loop to stop; true for the first call only.
    func requestStop() -> Bool {
        shared.withLock { state in
            guard !state.stopping else { return false }
            state.stopping = true
            curl_multi_wakeup(multi.raw)
            return true
        }
    }

    /// Called by the curl thread at the top of each iteration: the inbox's requests are swapped
    /// into `requests` (which must be empty; its storage becomes the next inbox).
    func takeWork(into requests: inout [[HTTPRequest]]) -> Work {
        shared.withLock { state in
            state.wakePending = false
            swap(&state.inbox, &requests)
            let work = Work(toCancel: state.toCancel, cancel: state.cancelRequested,
                            cancelWaiting: state.cancelWaitingRequested, withdrawLanes: state.withdrawLanes,
                            stop: state.stopping)
            state.withdrawLanes = []
            state.toCancel = []
            state.cancelRequested = false
            state.cancelWaitingRequested = false
            return work
        }
    }

    /// Called by the curl thread before it hands completions to the caller. `emptied`, a
    /// submitted array the curl thread has emptied, becomes the spare if there is none: handed
    /// over here, where the lock is taken anyway, before the submitter's next round.
    func completed(_ count: Int, connectionsOpened: Int, emptied: inout [HTTPRequest]?) {
        shared.withLock { state in
            state.inFlight -= count
            if state.spare == nil, let array = emptied.take() { state.spare = array }
        }
        emptied = nil
        if connectionsOpened > 0 { opened.add(connectionsOpened, ordering: .relaxed) }
    }

    /// Wakes the curl thread from another thread (a finished name lookup).
    func wake() {
        shared.withLock { state in
            guard !state.stopping else { return }
            wakeIfNeeded(&state)
        }
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
        curl_multi_wakeup(multi.raw)
    }
}

/// A CURLM pointer that may cross threads: only `curl_multi_wakeup` is called off the curl thread.
struct MultiHandle: @unchecked Sendable {
    let raw: UnsafeMutableRawPointer
}
