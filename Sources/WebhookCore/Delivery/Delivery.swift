/// One event on its way to one target after at least one attempt (a retry, a deferral or a
/// hand-back), as stored in the delayed set and the queue.
public struct Delivery: Sendable, Equatable {
    /// The Standard Webhooks `webhook-id`, identical on every attempt.
    public var webhookID: String
    /// Failed attempts so far (the `tries` value of the next body).
    public var tries: Int
    /// `Target.id` of a configured target (or an id of an earlier release, see
    /// `TargetDirectory`).
    public var targetID: String
    /// The keyed fingerprint of the URL the delivery was made for
    /// (`ItemAuthenticator.urlFingerprint`); nil in items of earlier releases. Stored after the
    /// id in the item's fourth field, `<target-id>:<fingerprint>`. `Optional<String>`, not
    /// `String?`: a `var` written `T?` starts as nil before the init runs, and assigned again
    /// there it made the compiler copy the whole delivery (see `HTTPRequest.init`).
    public var urlFingerprint: Optional<String>
    /// Consecutive rate-limit answers (429) so far, which do not count as tries.
    public var rateLimits: Int
    /// When this delivery was first made to wait without a try (a rate limit, an open or paused
    /// endpoint, a 429), in Unix seconds of Redis's clock; 0 when it never was. Hold bounds
    /// (WEBHOOK_BREAKER_MAX_HOLD, WEBHOOK_RATE_LIMIT_MAX_WAIT) are measured from it.
    public var heldSince: Double
    /// The rate-limit slot granted to this delivery (Unix seconds of Redis's clock), or 0: it
    /// waits in the delayed set until just before its slot and is then sent at the slot without
    /// asking the limiter again.
    public var slot: Double
    /// The event bytes as they were taken from the queue.
    public var raw: ArraySlice<UInt8>

    public init(webhookID: String, tries: Int, targetID: String, urlFingerprint: String? = nil, rateLimits: Int = 0,
                heldSince: Double = 0, slot: Double = 0, raw: ArraySlice<UInt8>) {
        self.webhookID = webhookID
        self.tries = tries
        self.targetID = targetID
        self.urlFingerprint = urlFingerprint
        self.rateLimits = rateLimits
        self.heldSince = heldSince
        self.slot = slot
        self.raw = raw
    }
}
