import XCTest
@testable import WebhookCore
import TestSupport

final class RetryPolicyTests: XCTestCase {
    private var random = SplitMix64(seed: 42)

    private func decide(_ policy: RetryPolicy, tries: Int, _ result: AttemptResult, discord: Bool = false) -> RetryDecision {
        policy.decide(tries: tries, result: result, rateLimitsBy429: discord, random: &random)
    }

    private func status(_ code: Int, retryAfter: Double? = nil, body: String = "") -> AttemptResult {
        .status(code, retryAfter: retryAfter, body: Array(body.utf8))
    }

    func testMarzbanCountingGivesFourAttempts() {
        let policy = RetryPolicy()  // 3 retries, 180 s
        XCTAssertEqual(decide(policy, tries: 0, status(500)), .retry(after: 180, tries: 1))
        XCTAssertEqual(decide(policy, tries: 1, status(500)), .retry(after: 180, tries: 2))
        XCTAssertEqual(decide(policy, tries: 2, .transportError(.timeout, "timeout")), .retry(after: 180, tries: 3))
        XCTAssertEqual(decide(policy, tries: 3, status(500)), .dead(reason: "gave up after 4 attempts: last answer HTTP 500"))
        XCTAssertEqual(decide(policy, tries: 3, .transportError(.connect, "connection refused")),
                       .dead(reason: "gave up after 4 attempts: last error: connection refused"))
        XCTAssertEqual(decide(RetryPolicy(retries: 0), tries: 0, status(404)),
                       .dead(reason: "gave up after 1 attempt: last answer HTTP 404"))
    }

    func testSuccessIsAny2xx() {
        for code in [200, 201, 204, 299] { XCTAssertEqual(decide(RetryPolicy(), tries: 3, status(code)), .delivered) }
        XCTAssertNotEqual(decide(RetryPolicy(), tries: 0, status(199)), .delivered)
    }

    func testGoneIsDeadAtOnce() {
        guard case .dead(let reason) = decide(RetryPolicy(), tries: 0, status(410)) else { return XCTFail("not dead") }
        XCTAssertTrue(reason.contains("410"))
    }

    func testRedirectIsAFailure() {
        XCTAssertEqual(decide(RetryPolicy(), tries: 0, status(301)), .retry(after: 180, tries: 1))
        XCTAssertEqual(decide(RetryPolicy(), tries: 3, status(302)),
                       .dead(reason: "gave up after 4 attempts: last answer HTTP 302 (redirect not followed)"))
    }

    func testRetryAfterIsHonouredUpToTheCap() {
        let policy = RetryPolicy(retryAfterCap: 600)
        XCTAssertEqual(decide(policy, tries: 0, status(429, retryAfter: 30)), .retry(after: 30, tries: 1))
        XCTAssertEqual(decide(policy, tries: 1, status(503, retryAfter: 7200)), .retry(after: 600, tries: 2))
        XCTAssertEqual(decide(policy, tries: 0, status(503)), .retry(after: 180, tries: 1))
        XCTAssertEqual(decide(policy, tries: 0, status(500, retryAfter: 5)), .retry(after: 180, tries: 1))
        // Retry-After does not buy extra attempts.
        guard case .dead = decide(policy, tries: 3, status(429, retryAfter: 1)) else { return XCTFail("not dead") }
    }

    func testDiscordRateLimitIsNotCounted() {
        let policy = RetryPolicy()
        XCTAssertEqual(decide(policy, tries: 3, status(429, retryAfter: 9, body: #"{"message":"rate limited","retry_after":1.5,"global":false}"#),
                              discord: true), .rateLimited(after: 1.5))
        XCTAssertEqual(decide(policy, tries: 0, status(429, retryAfter: 2), discord: true), .rateLimited(after: 2))
        XCTAssertEqual(decide(policy, tries: 0, status(429, body: "not json"), discord: true),
                       .rateLimited(after: RetryPolicy.discordFallbackDelay))
        XCTAssertEqual(decide(RetryPolicy(retryAfterCap: 60), tries: 0, status(429, body: #"{"retry_after":99999}"#), discord: true),
                       .rateLimited(after: 60))
        // A 429 from an ordinary endpoint counts.
        XCTAssertEqual(decide(policy, tries: 0, status(429)), .retry(after: 180, tries: 1))
    }

    func testScheduleWithJitter() {
        let policy = RetryPolicy(retries: 10, delay: 180, schedule: [5, 300, 1800, 7200])
        XCTAssertEqual(policy.effectiveRetries, 4)
        for _ in 0..<500 {
            for (tries, base) in [5.0, 300, 1800, 7200].enumerated() {
                guard case .retry(let after, let next) = decide(policy, tries: tries, status(500)) else { return XCTFail("not retried") }
                XCTAssertEqual(next, tries + 1)
                XCTAssertGreaterThanOrEqual(after, base * 0.8)
                XCTAssertLessThanOrEqual(after, base * 1.2)
            }
        }
        XCTAssertEqual(decide(policy, tries: 4, status(500)), .dead(reason: "gave up after 5 attempts: last answer HTTP 500"))
        // Jitter actually varies.
        let delays = Set((0..<20).map { _ in policy.scheduledDelay(afterTries: 0, random: &random) })
        XCTAssertGreaterThan(delays.count, 10)
    }

    func testCancelledAttemptIsNotCounted() {
        XCTAssertEqual(decide(RetryPolicy(), tries: 3, .cancelled), .retry(after: 0, tries: 3))
    }

    func testRateLimitWaitsHaveAFloorThatGrowsAndABound() {
        var random = SystemRandomNumberGenerator()
        let policy = RetryPolicy(rateLimitMaxWait: 100)
        let zero = AttemptResult.status(429, retryAfter: nil, body: Array(#"{"retry_after":0}"#.utf8))
        // retry_after 0 must not become a tight loop: 1 s, then 2, 4, 8 ... on consecutive 429s.
        for (streak, expected) in [(0, 1.0), (1, 2.0), (2, 4.0), (3, 8.0), (6, 64.0)] {
            XCTAssertEqual(policy.decide(tries: 0, rateLimits: streak, rateLimitedFor: 0, result: zero, rateLimitsBy429: true,
                                         random: &random), .rateLimited(after: expected), "streak \(streak)")
        }
        // Past the bound, the next 429 is a failed attempt (tries + 1), waiting at least the floor.
        XCTAssertEqual(policy.decide(tries: 0, rateLimits: 6, rateLimitedFor: 90, result: zero, rateLimitsBy429: true, random: &random),
                       .retry(after: 64, tries: 1))
        guard case .dead = policy.decide(tries: 3, rateLimits: 6, rateLimitedFor: 90, result: zero, rateLimitsBy429: true,
                                         random: &random) else { return XCTFail("not dead after the last try") }
    }
}
