import WebhookCore
@testable import WebhookDashboard
import WebhookRedis
import XCTest

/// The dashboard's pure parts: escaping, the views, the charts' arithmetic, sign-in and CSRF.
final class DashboardViewTests: XCTestCase {
    let hostile = "<script>alert(1)</script>\"'&"

    func testInterpolatedTextIsEscapedAndMarkupIsNot() {
        let cell: HTML = "<td title=\"\(hostile)\">\(hostile)</td>"
        XCTAssertEqual(cell.text, "<td title=\"&lt;script&gt;alert(1)&lt;/script&gt;&quot;&#39;&amp;\">&lt;script&gt;alert(1)&lt;/script&gt;&quot;&#39;&amp;</td>")
        let inner: HTML = "<b>\(hostile)</b>"
        let outer: HTML = "<p>\(inner)</p>"
        XCTAssertEqual(outer.text, "<p><b>&lt;script&gt;alert(1)&lt;/script&gt;&quot;&#39;&amp;</b></p>", "HTML goes in once escaped, not twice")
        XCTAssertEqual(HTML.queryComponent("a b&c=d/é"), "a%20b%26c%3Dd%2F%C3%A9")
    }

    func testPagesShowProducerTextAsText() {
        let layout = Layout(signOut: true, csrf: "c")
        let letter = DeadLetter(payload: Array("{\"action\":\"user_created\",\"username\":\"\(hostile)\"}".utf8),
                                attempts: 1, failedAt: 0, reason: hostile)
        let dead = DeadLettersPage(rows: [.init(letter: letter, endpoint: hostile)], total: 1, readOnly: false).render(layout).text
        let fleet = FleetSnapshot(workers: [.init(id: hostile, heartbeatAge: 1, isLive: true)], role: "master",
                                  usedMemory: 1 << 20, maxMemory: 0, now: 0)
        let overview = OverviewPage(depths: QueueDepths(queue: 1, delayed: 2, processing: 3, dead: 4, workers: [hostile]),
                                    fleet: fleet, successes: [], failures: []).render(layout).text
        for page in [dead, overview] {
            XCTAssertFalse(page.contains("<script"), page)
            XCTAssertTrue(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"), page)
        }
    }

    func testReadOnlyHidesEveryAction() {
        let layout = Layout(signOut: false, csrf: "token")
        let row = EndpointsPage.Row(name: "billing", kind: "webhook", redactedURL: "https://b.example/***", status: nil,
                                    history: EndpointHistory(now: 0), p95: 12)
        let letter = DeadLetter(id: "dl_1", payload: Array("{}".utf8), attempts: 1, failedAt: 0, reason: "x")
        let writable = EndpointsPage(rows: [row], readOnly: false).render(layout).text
            + DeadLettersPage(rows: [.init(letter: letter, endpoint: "billing")], total: 1, readOnly: false).render(layout).text
        let readOnly = EndpointsPage(rows: [row], readOnly: true).render(layout).text
            + DeadLettersPage(rows: [.init(letter: letter, endpoint: "billing")], total: 1, readOnly: true).render(layout).text
        XCTAssertTrue(writable.contains("/endpoints/pause") && writable.contains("/dead/confirm?op=replay"), writable)
        XCTAssertTrue(writable.contains("name=\"csrf\" value=\"token\""))
        for action in ["/endpoints/pause", "/endpoints/resume", "/dead/confirm", "method=\"post\""] {
            XCTAssertFalse(readOnly.contains(action), "read-only page offers \(action)")
        }
    }

    func testHistoryPlacesMinutesAndIgnoresOldOnes() {
        let now = 1_000_000.0 * 60 + 30   // half past minute 1_000_000
        let history = EndpointHistory(fields: [("s:1000000", 5), ("f:1000000", 2), ("s:999941", 7), ("s:999940", 100),
                                               ("x:1000000", 9), ("s:junk", 1)], now: now)
        XCTAssertEqual(history.successes[59], 5)
        XCTAssertEqual(history.failures[59], 2)
        XCTAssertEqual(history.successes[0], 7, "59 minutes ago is the first bar")
        XCTAssertEqual(history.successes.reduce(0, +), 12, "60 minutes ago is out of the hour")
        XCTAssertEqual(OverviewPage.sum([history, history]).successes[59], 10)
    }

    func testP95IsTheNearestRank() {
        XCTAssertNil(EndpointsPage.p95([]))
        XCTAssertEqual(EndpointsPage.p95([7]), 7)
        XCTAssertEqual(EndpointsPage.p95(Array(1...100)), 95)
        XCTAssertEqual(EndpointsPage.p95(Array(1...20).reversed()), 19)
    }

    func testChartsScaleToThePeak() {
        let svg = Charts.minuteBars(successes: [0, 10], failures: [5, 0], width: 100, height: 114).text
        XCTAssertTrue(svg.contains("10/min"), svg)
        XCTAssertTrue(svg.contains("height=\"100\""), "the peak minute fills the chart: \(svg)")
        XCTAssertTrue(Charts.sparkline([1, 2], label: "x").text.contains("<polyline points=\"0,12 120,1\""))
    }

    func testSignInCookieAndCSRF() {
        let auth = DashboardAuth(token: "s3cret-token")
        XCTAssertFalse(auth.isOpen)
        XCTAssertTrue(auth.acceptsToken("s3cret-token"))
        XCTAssertFalse(auth.acceptsToken("s3cret-toke"))
        XCTAssertFalse(auth.signInCookie.contains("s3cret"), "the cookie never holds the token")
        XCTAssertTrue(auth.signInCookie.contains("HttpOnly") && auth.signInCookie.contains("SameSite=Strict"))
        XCTAssertTrue(auth.isSignedIn(cookieHeader: "a=1; \(DashboardAuth.cookieName)=\(auth.sessionValue); b=2"))
        XCTAssertFalse(auth.isSignedIn(cookieHeader: "\(DashboardAuth.cookieName)=\(auth.csrfToken)"))
        XCTAssertFalse(auth.isSignedIn(cookieHeader: nil))
        XCTAssertTrue(auth.acceptsCSRF(auth.csrfToken))
        XCTAssertFalse(auth.acceptsCSRF(nil))
        XCTAssertFalse(auth.acceptsCSRF(auth.sessionValue))
        XCTAssertNotEqual(DashboardAuth(token: "other").sessionValue, auth.sessionValue, "a new token ends old sessions")
        let open = DashboardAuth(token: nil)
        XCTAssertTrue(open.isOpen && open.isSignedIn(cookieHeader: nil))
        XCTAssertFalse(open.acceptsCSRF(DashboardAuth(token: nil).csrfToken), "open: the CSRF key is random per process")
    }

    func testFormParsing() {
        XCTAssertEqual(DashboardRoutes.parseForm("a=1&b=x+y%21&c&d=%3Cs%3E"), ["a": "1", "b": "x y!", "c": "", "d": "<s>"])
    }
}
