/// What a heartbeat found (`DeliveryQueue.heartbeat`).
public enum Heartbeat: Sendable, Equatable {
    /// Registered (a join) or refreshed (a beat).
    case alive
    /// A join found another live worker with this ID.
    case idTaken
    /// A beat found this worker unregistered: it was reaped and must join again before taking.
    case unregistered
}
