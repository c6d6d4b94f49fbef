import WebhookRedis
import XCTest

/// Which error replies the connection layer acts on, and Redis' hash-tag rule for the start-up
/// check. Pure logic; the real servers are in ClusterTests and SentinelTests.
final class RedisRedirectTests: XCTestCase {
    func testClassifiesRedirectsAndReplicaRefusals() {
        XCTAssertEqual(RedisRedirect.classify("MOVED 3999 127.0.0.1:6381"), .moved(host: "127.0.0.1", port: 6381))
        XCTAssertEqual(RedisRedirect.classify("ASK 3999 10.0.0.2:7000"), .ask(host: "10.0.0.2", port: 7000))
        XCTAssertEqual(RedisRedirect.classify("MOVED 1 [::1]:7001"), .moved(host: "::1", port: 7001))
        XCTAssertEqual(RedisRedirect.classify("TRYAGAIN Multiple keys request during rehashing of slot"), .busy)
        XCTAssertEqual(RedisRedirect.classify("CLUSTERDOWN The cluster is down"), .busy)
        XCTAssertEqual(RedisRedirect.classify("READONLY You can't write against a read only replica."), .notMaster)
        XCTAssertEqual(RedisRedirect.classify("UNBLOCKED force unblock from blocking operation, instance state changed (master -> replica?)"), .notMaster)
        XCTAssertEqual(RedisRedirect.classify("ERR Error running script (call to f_1): @user_script:1: @user_script: 1: -READONLY You can't write against a read only replica."), .notMaster)
        for ordinary in ["ERR unknown command 'FOO'", "NOSCRIPT No matching script", "WRONGTYPE Operation against a key",
                         "MOVED 3999", "MOVED 3999 :6380", "MOVED x host:0", "CROSSSLOT Keys in request don't hash to the same slot"] {
            XCTAssertNil(RedisRedirect.classify(ordinary), ordinary)
        }
    }

    func testHashTagRule() {
        for tagged in ["{webhooks}", "{webhooks}:prod", "app:{q}", "{a}{b}", "x{y}z"] {
            XCTAssertTrue(ClusterPrefixCheck.hasHashTag(tagged), tagged)
        }
        for plain in ["webhooks", "{}webhooks", "{webhooks", "webhooks}", "}{", "{}{x}"] {
            XCTAssertFalse(ClusterPrefixCheck.hasHashTag(plain), plain)
        }
    }
}
