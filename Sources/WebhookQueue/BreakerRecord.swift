/// The circuit breaker after recording outcomes.
public struct BreakerRecord: Sendable, Equatable {
    /// What the recording changed. Exactly one recorder in the fleet sees each change, so it
    /// is the one to log, count and announce it.
    public enum Transition: String, Sendable, Equatable {
        case none = ""
        case opened
        case closed
    }

    public let transition: Transition
    /// Consecutive failures after the recording.
    public let consecutiveFailures: Int
    /// When the breaker opened (Unix seconds, Redis time); nil when it is closed.
    public let openedAt: Double?

    public init(transition: Transition, consecutiveFailures: Int, openedAt: Double?) {
        self.transition = transition
        self.consecutiveFailures = consecutiveFailures
        self.openedAt = openedAt
    }

    /// Whether the breaker is open after the recording.
    public var isOpen: Bool { openedAt != nil }
}
