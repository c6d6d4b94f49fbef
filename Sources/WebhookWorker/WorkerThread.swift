import Foundation

/// A dedicated OS thread for a loop that makes blocking C calls (hiredis), which must not run on
/// Swift's cooperative pool. `join(until:)` waits for the loop to return.
///
/// Unchecked Sendable only because Foundation's `Thread` is not marked Sendable; `thread` is
/// set once in `init` and only started, `finished` is a semaphore.
final class WorkerThread: @unchecked Sendable {
    private let finished = DispatchSemaphore(value: 0)
    private let thread: Thread

    init(name: String, _ body: @escaping @Sendable () -> Void) {
        let done = finished
        thread = Thread {
            // Named from inside: on Linux, Foundation gives the OS thread (what `top -H`, `ps -L`
            // and perf show) only a name set by the thread itself; set before `start` it is kept
            // on the object alone and the thread shows its creator's name.
            Thread.current.name = name
            body()
            done.signal()
        }
        thread.name = name
        thread.stackSize = 1 << 20
    }

    func start() { thread.start() }

    /// Waits for the loop to return until `deadline`; false when it is still running (blocked
    /// in a call to a Redis that does not answer, say).
    func join(until deadline: Date) -> Bool {
        let seconds = max(0, deadline.timeIntervalSinceNow)
        return finished.wait(timeout: .now() + seconds) == .success
    }
}
