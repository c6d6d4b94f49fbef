/// One endpoint's shared state, for `webhook-worker endpoints`. Times are Unix seconds of
/// Redis' clock.
public struct EndpointStatus: Sendable, Equatable {
    /// ok, open (since when) or paused (since when; a paused endpoint may also be open).
    public enum State: Sendable, Equatable {
        case ok
        case open(since: Double)
        case paused(since: Double)
    }

    public let state: State
    /// When the breaker opened, whether or not the endpoint is also paused.
    public let openedAt: Double?
    public let consecutiveFailures: Int
    /// The last failure's description, as recorded (never a secret: callers record redacted text).
    public let lastError: String?
    public let lastErrorAt: Double?
    public let lastSuccessAt: Double?
    /// Outcomes recorded over the last hour.
    public let recentSuccesses: Int
    public let recentFailures: Int
    /// Redis' clock when this was read, to show "open for 5m".
    public let readAt: Double

    public init(state: State, openedAt: Double?, consecutiveFailures: Int, lastError: String?, lastErrorAt: Double?,
                lastSuccessAt: Double?, recentSuccesses: Int, recentFailures: Int, readAt: Double) {
        self.state = state
        self.openedAt = openedAt
        self.consecutiveFailures = consecutiveFailures
        self.lastError = lastError
        self.lastErrorAt = lastErrorAt
        self.lastSuccessAt = lastSuccessAt
        self.recentSuccesses = recentSuccesses
        self.recentFailures = recentFailures
        self.readAt = readAt
    }

    /// `ok`, `open`, or `paused`.
    public var stateName: String {
        switch state {
        case .ok: return "ok"
        case .open: return "open"
        case .paused: return "paused"
        }
    }
}
