import Foundation
import WebhookHTTP

/// What the other threads hand the dispatcher: batches the taker took, responses the HTTP
/// thread finished, and the request to finish. Made before the HTTP client and the dispatcher,
/// so the client's completion handler posts here and the dispatcher gets both at `init`:
/// nothing is wired after construction.
///
/// Unchecked Sendable: every stored property is touched only under `condition`.
final class DispatcherMailbox: @unchecked Sendable {
    private let condition = NSCondition()
    private var taken: [[[UInt8]]] = []
    private var responses: [[HTTPResponse]] = []
    private var finishing = false
    /// The dispatcher waits quietly (see `wait(until:quiet:)`): posts do not wake it.
    private var quietWaiter = false

    /// Items the taker moved into the processing list.
    func post(taken items: [[UInt8]]) {
        condition.lock()
        taken.append(items)
        if !quietWaiter { condition.signal() }
        condition.unlock()
    }

    /// Completed HTTP attempts, from the HTTP thread: the round's array is kept whole, never
    /// copied into another. Copying its responses would retain every reference they hold here
    /// and release them again on the HTTP thread, cache lines bouncing between the two.
    func post(responses new: [HTTPResponse]) {
        condition.lock()
        responses.append(new)
        if !quietWaiter { condition.signal() }
        condition.unlock()
    }

    /// Asks the dispatcher to write what it has and return once nothing is held.
    func finish() {
        condition.lock()
        finishing = true
        condition.signal()
        condition.unlock()
    }

    /// Waits until something is posted or `deadline` passes; true when there is mail (or the
    /// finish was asked). Returns at once when there already is.
    /// - Parameter quiet: when set, posts do not wake the waiter, which instead comes back by
    ///   itself within `quiet` seconds (or at `deadline`, if sooner) and takes what arrived
    ///   meanwhile in one round; `finish` still wakes it at once. Why: the dispatcher is woken
    ///   per round of the HTTP thread otherwise, a context switch each, and on a busy worker
    ///   (whose HTTP pool is full, so that a few milliseconds more before completing or
    ///   admitting change nothing on the wire) those switches were one of its larger costs.
    func wait(until deadline: Date, quiet: TimeInterval? = nil) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        if hasMail { return true }
        var until = deadline
        if let quiet {
            until = min(deadline, Date(timeIntervalSinceNow: quiet))
            quietWaiter = true
        }
        _ = condition.wait(until: until)
        quietWaiter = false
        return hasMail
    }

    /// Moves what was posted into `taken` and `responses` (which must be empty: the arrays are
    /// swapped, so neither side allocates per round; each round of the HTTP thread is one array
    /// of `responses`); returns whether the finish was asked.
    func take(_ takenOut: inout [[[UInt8]]], _ responsesOut: inout [[HTTPResponse]]) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        swap(&taken, &takenOut)
        swap(&responses, &responsesOut)
        return finishing
    }

    /// Whether nothing was posted since the last `take`.
    var isEmpty: Bool {
        condition.lock()
        defer { condition.unlock() }
        return taken.isEmpty && responses.isEmpty
    }

    private var hasMail: Bool { !taken.isEmpty || !responses.isEmpty || finishing }
}
