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

    /// Items the taker moved into the processing list.
    func post(taken items: [[UInt8]]) {
        condition.lock()
        taken.append(items)
        condition.signal()
        condition.unlock()
    }

    /// Completed HTTP attempts, from the HTTP thread: the round's array is kept whole, never
    /// copied into another. Copying its responses would retain every reference they hold here
    /// and release them again on the HTTP thread, cache lines bouncing between the two.
    func post(responses new: [HTTPResponse]) {
        condition.lock()
        responses.append(new)
        condition.signal()
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
    func wait(until deadline: Date) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        if hasMail { return true }
        _ = condition.wait(until: deadline)
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
