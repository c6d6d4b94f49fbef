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
    /// id in the item's fourth field, `<target-id>:<fingerprint>`.
    public var urlFingerprint: String?
    /// Consecutive rate-limit answers (429) so far, which do not count as tries.
    public var rateLimits: Int
    /// Seconds waited because of those rate-limit answers.
    public var rateLimitedFor: Int
    /// The event bytes as they were taken from the queue.
    public var raw: ArraySlice<UInt8>

    public init(webhookID: String, tries: Int, targetID: String, urlFingerprint: String? = nil, rateLimits: Int = 0,
                rateLimitedFor: Int = 0, raw: ArraySlice<UInt8>) {
        self.webhookID = webhookID
        self.tries = tries
        self.targetID = targetID
        self.urlFingerprint = urlFingerprint
        self.rateLimits = rateLimits
        self.rateLimitedFor = rateLimitedFor
        self.raw = raw
    }
}
