import TestSupport
import XCTest

/// Base of the in-process bridge tests: a real redis-server per test, and the bridge under test
/// (`IngestUnderTest`) stopped before the next test starts, so no server outlives its test.
class IngestServerTestCase: XCTestCase {
    var redis: RedisServer!
    var server: IngestUnderTest?

    override func setUp() async throws {
        redis = try RedisServer()
    }

    override func tearDown() async throws {
        await server?.stop()
        server = nil
        redis = nil
    }
}
