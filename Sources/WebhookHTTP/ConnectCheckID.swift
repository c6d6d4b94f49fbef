import Synchronization

/// The identity of an `HTTPRequest.ConnectCheck`, for the client's memo of verdicts on URLs
/// whose host is an IP literal.
///
/// Why: a check is a closure, and closures cannot be compared, so without a name for it the
/// client had to run the check (a walk over the policy's CIDR ranges, with allocations) before
/// every request to a literal address, though the answer for one address and one check never
/// changes. Requests carrying the same identity promise checks that give the same verdict for
/// the same address; the client then judges a URL's literal host once per identity.
///
/// Each `init()` makes an identity no other has (a process-wide counter, never reused), so a
/// check made anew (a changed policy) can never be answered with an older check's verdict.
public struct ConnectCheckID: Hashable, Sendable {
    private static let last = Atomic<UInt64>(0)
    private let value: UInt64

    public init() {
        value = Self.last.add(1, ordering: .relaxed).newValue
    }
}
