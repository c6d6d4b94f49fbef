/// The fleet-wide rate limiter's answer for one request.
public enum RateDecision: Sendable, Equatable {
    /// Send now. `at`: the grant's Redis time, Unix seconds (microsecond precision).
    case granted(at: Double)
    /// Do not send yet; ask again after this many seconds. Waiting spends no try.
    case wait(Double)

    public var isGranted: Bool {
        if case .granted = self { return true }
        return false
    }
}
