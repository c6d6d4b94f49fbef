import XCTest
@testable import WebhookCore

final class DotEnvTests: XCTestCase {
    func testMarzbanSyntax() {
        let text = """
        # Marzban's .env
        WEBHOOK_ADDRESS = "http://127.0.0.1:9000/,http://127.0.0.1:9001/"
        WEBHOOK_SECRET="something-very-very-secret"
        JOB_SEND_NOTIFICATIONS_INTERVAL=30  # seconds
          export REDIS_URL=redis://127.0.0.1:6379/0
        SINGLE='single # not a comment'
        HASH=abc#def
        SPACED = value with spaces   
        EMPTY=
        COMMENT_ONLY= # nothing
        QUOTED_WITH_COMMENT = "x y" # trailing
        INNER_QUOTES="say "hi""
        UNBALANCED="open
        not a variable line

        CRLF=yes\r
        DUP=1
        DUP=2
        """
        let values = DotEnv.parse(text)
        XCTAssertEqual(values["WEBHOOK_ADDRESS"], "http://127.0.0.1:9000/,http://127.0.0.1:9001/")
        XCTAssertEqual(values["WEBHOOK_SECRET"], "something-very-very-secret")
        XCTAssertEqual(values["JOB_SEND_NOTIFICATIONS_INTERVAL"], "30")
        XCTAssertEqual(values["REDIS_URL"], "redis://127.0.0.1:6379/0")
        XCTAssertEqual(values["SINGLE"], "single # not a comment")
        XCTAssertEqual(values["HASH"], "abc#def")
        XCTAssertEqual(values["SPACED"], "value with spaces")
        XCTAssertEqual(values["EMPTY"], "")
        XCTAssertEqual(values["COMMENT_ONLY"], "")
        XCTAssertEqual(values["QUOTED_WITH_COMMENT"], "x y")
        XCTAssertEqual(values["INNER_QUOTES"], #"say "hi""#)
        XCTAssertEqual(values["UNBALANCED"], "\"open")
        XCTAssertEqual(values["CRLF"], "yes")
        XCTAssertEqual(values["DUP"], "2")
        XCTAssertNil(values["not a variable line"])
        XCTAssertEqual(values.count, 14)
    }

    func testEqualsInValueAndEmptyText() {
        XCTAssertEqual(DotEnv.parse("URL=http://h/?a=b&c=d")["URL"], "http://h/?a=b&c=d")
        XCTAssertEqual(DotEnv.parse(""), [:])
        XCTAssertEqual(DotEnv.parse("KEY=#literal")["KEY"], "#literal")
    }
}
