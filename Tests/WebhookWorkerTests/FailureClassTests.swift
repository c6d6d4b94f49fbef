import CCurl
@testable import WebhookHTTP
import WebhookCore
@testable import WebhookWorker
import XCTest

/// The one classification of a transport failure (`FailureClass`), pinned from libcurl's code
/// to what the attempt log, spans and the breaker read. Two classifiers used to disagree on
/// curl's send and receive errors (55, 56): the log said `connect`, the spans `other`.
final class FailureClassTests: XCTestCase {
    private func classOf(curl code: UInt32) -> String? {
        let failure = HTTPFailure(curlCode: CURLcode(rawValue: code))
        return failure.map { FailureClass($0).rawValue }
    }

    func testCurlCodesMapToOneClassEach() {
        XCTAssertNil(classOf(curl: 0), "CURLE_OK is no failure")
        XCTAssertEqual(classOf(curl: 28), "timeout")  // CURLE_OPERATION_TIMEDOUT
        XCTAssertEqual(classOf(curl: 7), "connect")   // CURLE_COULDNT_CONNECT
        XCTAssertEqual(classOf(curl: 55), "connect")  // CURLE_SEND_ERROR
        XCTAssertEqual(classOf(curl: 56), "connect")  // CURLE_RECV_ERROR
        XCTAssertEqual(classOf(curl: 6), "dns")       // CURLE_COULDNT_RESOLVE_HOST
        XCTAssertEqual(classOf(curl: 5), "dns")       // CURLE_COULDNT_RESOLVE_PROXY
        XCTAssertEqual(classOf(curl: 35), "tls")      // CURLE_SSL_CONNECT_ERROR
        XCTAssertEqual(classOf(curl: 60), "tls")      // CURLE_PEER_FAILED_VERIFICATION
        XCTAssertEqual(classOf(curl: 52), "other")    // CURLE_GOT_NOTHING
        XCTAssertEqual(classOf(curl: 3), "other")     // CURLE_URL_MALFORMAT
    }

    func testTheClientsOwnFailuresAreOther() {
        XCTAssertEqual(FailureClass(.refused("10.0.0.1 is private")), .other)
        XCTAssertEqual(FailureClass(.notStarted), .other)
        XCTAssertEqual(FailureClass(.tooLarge), .other)
    }

    /// The ledger's result of a response, and the class the log and the spans both read from it.
    func testResponsesBecomeResultsWithOneErrorClass() {
        func result(_ outcome: HTTPResponse.Outcome) -> AttemptResult {
            AttemptResult(HTTPResponse(token: 1, outcome: outcome))
        }
        XCTAssertNil(result(.answered(status: 204)).errorClass)
        XCTAssertEqual(result(.answered(status: 503)).errorClass, "status")
        XCTAssertEqual(result(.failed(.connectionLost, detail: "Recv failure: Connection reset by peer")),
                       .transportError(.connect, "Recv failure: Connection reset by peer"))
        XCTAssertEqual(result(.failed(.timeout, detail: "")), .transportError(.timeout, "timeout"),
                       "without curl's text, the failure names itself")
        XCTAssertEqual(result(.failed(.cancelled, detail: "shut down")), .cancelled)
        XCTAssertEqual(result(.failed(.withdrawn, detail: "")), .withdrawn)
        XCTAssertEqual(result(.failed(.dns, detail: "x")).errorClass, "dns")
        XCTAssertEqual(result(.failed(.tls, detail: "x")).errorClass, "tls")
    }
}
