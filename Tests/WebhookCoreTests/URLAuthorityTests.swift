import XCTest
@testable import WebhookCore

final class URLAuthorityTests: XCTestCase {
    func testHostPortIsBetweenTheSchemeAndThePathAfterTheUserinfo() {
        XCTAssertEqual(URLAuthority.hostPort(of: "https://Example.com:8443/hook?x=1"), "Example.com:8443")
        XCTAssertEqual(URLAuthority.hostPort(of: "http://u:p@w@host?q#f"), "host")
        XCTAssertEqual(URLAuthority.hostPort(of: "http://[::1]:9000#frag"), "[::1]:9000")
        XCTAssertEqual(URLAuthority.hostPort(of: "http://user@/path"), "")
        XCTAssertNil(URLAuthority.hostPort(of: "example.com/hook"))
    }

    func testHasHostNeedsSomethingBeforeThePort() {
        XCTAssertTrue(URLAuthority.hasHost("socks5://proxy:1080"))
        XCTAssertFalse(URLAuthority.hasHost("http://:8080/"))
        XCTAssertFalse(URLAuthority.hasHost("http://user:pw@/"))
        XCTAssertFalse(URLAuthority.hasHost("http:/host"))
    }
}
