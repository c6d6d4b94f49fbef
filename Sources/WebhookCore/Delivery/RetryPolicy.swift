import Foundation

/// The retry arithmetic, with Marzban's counting: `retries` failed attempts are retried, so an
/// event gets `retries + 1` attempts with `tries` 0...retries in the bodies.
public struct RetryPolicy: Sendable, Equatable {
    /// NUMBER_OF_RECURRENT_NOTIFICATIONS (3 => 4 attempts). Ignored when `schedule` is set.
    public var retries: Int
    /// RECURRENT_NOTIFICATIONS_TIMEOUT: seconds before each retry (180).
    public var delay: Double
    /// WEBHOOK_RETRY_SCHEDULE: the delay before each retry; its length is the number of
    /// retries. Each delay gets ±20 % jitter so failed bursts do not retry in lockstep.
    public var schedule: [Double]?
    /// WEBHOOK_RETRY_AFTER_MAX: the longest Retry-After honoured (3600).
    public var retryAfterCap: Double

    /// WEBHOOK_RATE_LIMIT_MAX_WAIT: seconds a delivery may spend waiting on rate-limit answers
    /// before the next one counts as a failed attempt (600).
    public var rateLimitMaxWait: Double

    /// Delay before a Discord rate-limit retry when Discord names none.
    public static let discordFallbackDelay = 5.0
    /// The shortest wait after a rate-limit answer: a `retry_after` of 0 must not turn into a
    /// tight loop of requests (a 429 storm). Doubles with each consecutive rate-limit answer.
    public static let rateLimitFloor = 1.0

    public init(retries: Int = 3, delay: Double = 180, schedule: [Double]? = nil, retryAfterCap: Double = 3600,
                rateLimitMaxWait: Double = 600) {
        self.retries = retries
        self.delay = delay
        self.schedule = schedule
        self.retryAfterCap = retryAfterCap
        self.rateLimitMaxWait = rateLimitMaxWait
    }

    /// The number of retries in force (the schedule's length when there is one).
    public var effectiveRetries: Int { schedule?.count ?? retries }

    /// Decides after an attempt. `tries`: failed attempts before this one.
    ///
    /// 2xx is delivered; 410 is dead at once; a 3xx is a failure (redirects are not followed);
    /// a 429/503 with Retry-After waits min(Retry-After, cap); Discord's or Telegram's 429 (their
    /// rate limit) waits the `retry_after` they send and does not count as a failure, but never
    /// less than `rateLimitFloor` doubled per consecutive rate-limit answer (`rateLimits` so
    /// far), and once the wait would take the delivery past `rateLimitMaxWait` held in all
    /// (`rateLimitedFor`: seconds since it was first held, measured on Redis's clock by the
    /// ledger, not a sum of planned waits) the answer counts as a failed attempt; any other failure is retried with `tries + 1` while that
    /// stays within the retries, else the delivery is dead. A cancelled attempt is retried at
    /// once, uncounted.
    /// `rateLimitsBy429`: the target is a chat API (Discord or Telegram) whose 429 is its rate
    /// limit, answered with how long to wait, rather than a failure of the receiver.
    public func decide(tries: Int, rateLimits: Int = 0, rateLimitedFor: Double = 0, result: AttemptResult,
                       rateLimitsBy429: Bool, random: inout some RandomNumberGenerator) -> RetryDecision {
        let failure: String
        var requestedDelay: Double?
        switch result {
        case .cancelled, .withdrawn:
            return .retry(after: 0, tries: tries)
        case .transportError(_, let message):
            failure = "last error: \(message)"
        case .status(let status, let retryAfter, let body):
            switch status {
            case 200..<300:
                return .delivered
            case 410:
                return .dead(reason: "endpoint answered HTTP 410 Gone after \(tries + 1) attempt\(tries == 0 ? "" : "s")")
            case 429 where rateLimitsBy429:
                let requested = Self.discordRetryAfter(body) ?? TelegramMessage.retryAfter(body) ?? retryAfter
                    ?? Self.discordFallbackDelay
                let floor = Self.rateLimitFloor * Double(1 << min(max(rateLimits, 0), 16))
                let wait = clamp(max(requested.isFinite ? requested : retryAfterCap, floor))
                if rateLimitedFor + wait <= rateLimitMaxWait { return .rateLimited(after: wait) }
                failure = "rate-limited (HTTP 429) for more than \(Int(rateLimitMaxWait)) s"
                requestedDelay = wait
            case 300..<400:
                failure = "last answer HTTP \(status) (redirect not followed)"
            case 429, 503:
                failure = "last answer HTTP \(status)"
                requestedDelay = retryAfter.map(clamp)
            default:
                failure = "last answer HTTP \(status)"
            }
        }
        guard tries + 1 <= effectiveRetries else {
            return .dead(reason: "gave up after \(tries + 1) attempt\(tries == 0 ? "" : "s"): \(failure)")
        }
        return .retry(after: requestedDelay ?? scheduledDelay(afterTries: tries, random: &random), tries: tries + 1)
    }

    /// The planned delay before retry number `tries + 1`.
    public func scheduledDelay(afterTries tries: Int, random: inout some RandomNumberGenerator) -> Double {
        guard let schedule, !schedule.isEmpty else { return delay }
        let base = schedule[min(max(tries, 0), schedule.count - 1)]
        return base * Double.random(in: 0.8...1.2, using: &random)
    }

    private func clamp(_ seconds: Double) -> Double {
        guard seconds.isFinite else { return retryAfterCap }
        return min(max(seconds, 0), retryAfterCap)
    }

    /// `retry_after` (seconds) from a Discord rate-limit body, when present.
    static func discordRetryAfter(_ body: [UInt8]) -> Double? {
        guard !body.isEmpty,
              let object = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any],
              let value = object["retry_after"] as? NSNumber
        else { return nil }
        return value.doubleValue
    }
}
