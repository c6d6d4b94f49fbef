import WebhookQueue
import WebhookRedis
import XCTest

/// The one mapping from `RedisError` to `QueueError` (`QueueError.init(_:)`): the codes the
/// worker's loops act on come out of the reply's word, or of the transport, and are stored.
final class QueueErrorMappingTests: XCTestCase {
    private func code(_ message: String, connection: Bool = false) -> QueueErrorCode {
        QueueError(RedisError(call: "EVALSHA(settle)", message: message, isConnectionError: connection)).code
    }

    func testTheCodesTheLoopsMatchOn() {
        XCTAssertEqual(code("Connection reset by peer", connection: true), .connection)
        XCTAssertEqual(code("OOM command not allowed when used memory > 'maxmemory'."), .outOfMemory)
        XCTAssertEqual(code("READONLY You can't write against a read only replica."), .readOnly)
        XCTAssertEqual(code("UNREGISTERED this worker is not in the workers set"), .unregistered)
        XCTAssertEqual(code("SERVERCHANGED the connection reached another server"), .serverChanged)
        XCTAssertEqual(code("unexpected reply integer(3)"), .unexpectedReply)
    }

    func testAScriptsWrappedErrorIsFoundInsideTheMessage() {
        // Older servers wrap a script's error reply: `ERR Error running script ... OOM ...`.
        XCTAssertEqual(code("ERR Error running script (call to f_1): @user_script:1: -OOM command not allowed"), .outOfMemory)
    }

    func testTransientClusterStatesAndAuthHaveTheirOwnCodesAndOthersKeepTheirWord() {
        XCTAssertEqual(code("LOADING Redis is loading the dataset in memory"), .unavailable)
        XCTAssertEqual(code("CLUSTERDOWN The cluster is down"), .unavailable)
        XCTAssertEqual(code("MOVED 3999 127.0.0.1:6381"), .unavailable)
        XCTAssertEqual(code("NOAUTH Authentication required."), .unauthorized)
        XCTAssertEqual(code("WRONGTYPE Operation against a key holding the wrong kind of value"), .other("WRONGTYPE"))
    }

    func testTheMessageAndOperationAreKeptForTheLogs() {
        let error = QueueError(RedisError(call: "BLMOVE", message: "READONLY You can't write", isConnectionError: false))
        XCTAssertEqual(error.operation, "BLMOVE")
        XCTAssertEqual(error.message, "READONLY You can't write")
        XCTAssertEqual(error.description, "BLMOVE: READONLY You can't write")
    }
}
