/// The fleet-wide rate limiter's answer for a batch of requests (`EndpointLimits.reserve`).
public struct RateReservation: Sendable, Equatable {
    /// One request's slot.
    public enum Slot: Sendable, Equatable {
        /// Reserved: the request may go this many seconds after `now` (0: at once), and not
        /// before. Nobody else gets that slot.
        case granted(in: Double)
        /// Not reserved: the next free slot is this many seconds away, which would hold the
        /// request past its longest hold.
        case refused(wait: Double)
    }

    /// Redis's clock when the slots were placed, Unix seconds (microsecond precision).
    public let now: Double
    /// One per request asked for, in order.
    public let slots: [Slot]

    public init(now: Double, slots: [Slot]) {
        self.now = now
        self.slots = slots
    }
}
