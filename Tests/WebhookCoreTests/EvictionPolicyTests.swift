import WebhookCore
import XCTest

/// Which `maxmemory-policy` values can drop queued events.
final class EvictionPolicyUnitTests: XCTestCase {
    func testOnlyNoevictionIsSafeAndVolatilePoliciesSpareTheQueue() {
        XCTAssertEqual(EvictionPolicy(policy: "noeviction"), .safe)
        for policy in ["volatile-lru", "volatile-lfu", "volatile-random", "volatile-ttl"] {
            XCTAssertEqual(EvictionPolicy(policy: policy), .evictsExpiringKeys, policy)
            XCTAssertNil(EvictionPolicy.readinessProblem(policy), policy)
        }
        // allkeys-* evicts anything; an unknown (future) policy is not trusted either.
        for policy in ["allkeys-lru", "allkeys-lfu", "allkeys-random", "something-new"] {
            XCTAssertEqual(EvictionPolicy(policy: policy), .evictsQueue, policy)
            let problem = EvictionPolicy.readinessProblem(policy)
            XCTAssertEqual(problem, "redis maxmemory-policy is \(policy), which can evict queued events; set maxmemory-policy noeviction")
        }
        XCTAssertNil(EvictionPolicy.readinessProblem("noeviction"))
    }
}
