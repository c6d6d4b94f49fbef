/// What went wrong in a queue driver, as the worker's loops need to tell it apart: each case is
/// one reaction (reconnect, close the take gate, join again, reconcile, back off), whichever
/// driver raised it. Stored in `QueueError.code` when the error is made, never parsed back out
/// of its message (GRDB's `ResultCode` beside its `DatabaseError` is the model).
public enum QueueErrorCode: Equatable, Sendable {
    /// The transport failed (refused, reset, timed out): the reply may be lost, and the driver
    /// reconnects on its next call. The taker reconciles what it holds after one.
    case connection
    /// The store is out of memory and refuses writes (Redis under `maxmemory-policy
    /// noeviction`); reads still work. The worker stops taking until writes succeed again.
    case outOfMemory
    /// The store is a read-only replica (a failover happened): writes fail until the driver
    /// reaches the new master.
    case readOnly
    /// The worker is not registered (it was reaped after its lease): it must join again before
    /// it takes anything.
    case unregistered
    /// A pinned call was not made: the driver reached another server than the one this worker's
    /// held items are known to be on (see `DeliveryQueue.pinnedServerID`).
    case serverChanged
    /// The store cannot serve for a moment (loading its data, busy in a script, a cluster
    /// redirection or a cluster state the driver could not follow): retry after a backoff.
    case unavailable
    /// The store refused the credentials, or none were given.
    case unauthorized
    /// A reply had a shape the driver does not understand.
    case unexpectedReply
    /// Anything else; the store's own word for it (for Redis, the error reply's first word).
    case other(String)
}
