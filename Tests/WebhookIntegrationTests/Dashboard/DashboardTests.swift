import Foundation
import Synchronization
import TestSupport
import WebhookDashboard
import XCTest

/// `webhook-worker dashboard` against a real worker and redis-server; first in a real browser: headless Chromium driven by PyPI selenium through the
/// system's chromedriver (`Tests/Browser/dashboard_browser.py`), against a real worker,
/// redis-server, receivers and `webhook-worker dashboard`. The script fails on the first check
/// that does not hold, and so does this test; a missing browser or driver is a failure too
/// (`scripts/test` installs them), never a skip.
final class DashboardTests: WorkerTestCase {
    static let token = "dashboard-test-token"
    static let hostile = "<script>alert(1)</script>"

    /// Starts `webhook-worker dashboard` on a free port; returns its base URL once `/livez`
    /// answers, retrying on another port if the one found free was taken meanwhile.
    func startDashboard(_ env: [String: String]) async throws -> (WorkerProcess, String) {
        var failures: [String] = []
        for _ in 0..<3 {
            let port = try freeTCPPort()
            let process = try WorkerProcess(["dashboard", "--listen", "127.0.0.1:\(port)"], environment: environment(env))
            let base = "http://127.0.0.1:\(port)"
            do {
                try await HTTPCall.waitForStatus(200, at: "\(base)/livez", timeout: 30)
                if process.isRunning { return (process, base) }
            } catch {
                failures.append("port \(port): \(error)\n\(process.log.suffix(1000))")
            }
            process.kill()
        }
        throw EventuallyTimeout(description: "no dashboard served /livez:\n\(failures.joined(separator: "\n"))")
    }

    func testOutageDeadLetterHostileUsernameAndAuthInABrowser() async throws {
        for tool in ["chromium", "chromedriver", "python3"] {
            XCTAssertNoThrow(try Subprocess.executable(tool), "\(tool) is missing: scripts/test installs it")
        }
        let selenium = try Subprocess.run("python3", ["-c", "import selenium"])
        XCTAssertEqual(selenium.status, 0, "PyPI selenium is missing (scripts/test installs it): \(selenium.stderr)")

        // flaky: 503 until told to recover; fragile: 410 (dead at once) until told to accept.
        let recovered = Mutex(false), accepting = Mutex(false)
        let steady = try await receiver()
        let flaky = try await receiver(.respond { request, _ in
            if request.path == "/control/recover" { recovered.withLock { $0 = true }; return .status(200) }
            return .status(recovered.withLock { $0 } ? 200 : 503)
        })
        let fragile = try await receiver(.respond { request, _ in
            if request.path == "/control/accept" { accepting.withLock { $0 = true }; return .status(200) }
            return .status(accepting.withLock { $0 } ? 200 : 410)
        })
        let file = try endpointsFile("""
            endpoints:
              - {name: steady, url: "\(steady.url)", actions: [user_created]}
              - {name: flaky, url: "\(flaky.url)", actions: [user_limited]}
              - {name: fragile, url: "\(fragile.url)", actions: [user_expired]}
            """)
        let env = ["WEBHOOK_ENDPOINTS_FILE": file, "WEBHOOK_SECRET": "browser-secret",
                   "WEBHOOK_BREAKER_FAILURES": "2", "WEBHOOK_BREAKER_PROBE": "1",
                   "WEBHOOK_RETRY_SCHEDULE": Array(repeating: "1s", count: 30).joined(separator: ","),
                   "JOB_SEND_NOTIFICATIONS_INTERVAL": "0.2", "DASHBOARD_TOKEN": Self.token]
        let worker = try startWorker(env)
        let (dashboard, base) = try await startDashboard(env)
        defer { dashboard.kill() }
        for (action, user) in [("user_created", Self.hostile), ("user_limited", "alice"), ("user_limited", "bob"),
                               ("user_limited", "carol"), ("user_expired", "dave")] {
            let result = try await command(["enqueue", "--action", action, "--username", user], env)
            XCTAssertEqual(result.status, 0, result.stderr)
        }

        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Browser/dashboard_browser.py").path
        let started = Date()
        let result = try Subprocess.run("env", [
            "DASHBOARD_URL=\(base)", "DASHBOARD_TOKEN=\(Self.token)", "HOSTILE_USER=\(Self.hostile)",
            "FLAKY_RECOVER_URL=\(flaky.baseURL)/control/recover", "FRAGILE_ACCEPT_URL=\(fragile.baseURL)/control/accept",
            "python3", script,
        ])
        let output = result.stdout + result.stderr
        XCTAssertEqual(result.status, 0, "the browser checks failed:\n\(output)\ndashboard log:\n\(dashboard.log.suffix(3000))")
        print("browser checks: \(String(format: "%.1f", Date().timeIntervalSince(started))) s\n\(result.stdout)")

        // The replay reached the receiver with the webhook-id of the attempt that died.
        let hooks = fragile.requests.filter { $0.path == "/hook" }
        XCTAssertGreaterThanOrEqual(hooks.count, 2, "the dead attempt and the replay")
        XCTAssertEqual(Set(hooks.map { $0.header("webhook-id") ?? "" }).count, 1, "one webhook-id for the attempt and its replay")
        XCTAssertFalse(dashboard.log.contains(Self.token), "the token reached the dashboard's log")
        await stop(worker)
    }

    /// Without DASHBOARD_TOKEN the dashboard refuses to start, naming the variable, unless
    /// told to run open, as `ingest` does without INGEST_SECRET.
    func testRefusesToStartWithoutATokenUnlessOpen() async throws {
        let refused = try await command(["dashboard", "--listen", "127.0.0.1:0"])
        XCTAssertNotEqual(refused.status, 0)
        XCTAssertTrue(refused.stderr.contains("DASHBOARD_TOKEN"), refused.stderr)
        // Retried on another port if the one found free is taken before the dashboard binds it.
        let (open, base) = try await launchOnFreePort("open dashboard", readyPath: "/") { port in
            try WorkerProcess(["dashboard", "--open", "--listen", "127.0.0.1:\(port)"], environment: environment([:]))
        }
        defer { open.kill() }
        let page = try await HTTPCall.get("\(base)/")
        XCTAssertTrue(page.text.contains("Overview"), page.text)
    }

    /// DASHBOARD_READ_ONLY: no action is offered, and a POST that carries a valid session and
    /// CSRF token is still refused and changes nothing.
    func testReadOnlyOffersNoActionAndRefusesThem() async throws {
        let target = try await receiver()
        let file = try endpointsFile("""
            endpoints:
              - {name: billing, url: "\(target.url)"}
            """)
        let env = ["WEBHOOK_ENDPOINTS_FILE": file, "DASHBOARD_TOKEN": Self.token, "DASHBOARD_READ_ONLY": "true"]
        let (dashboard, base) = try await startDashboard(env)
        defer { dashboard.kill() }
        let auth = DashboardAuth(token: Self.token)
        let cookie = ["Cookie": "\(DashboardAuth.cookieName)=\(auth.sessionValue)"]
        let page = try await HTTPCall.request("GET", "\(base)/endpoints", headers: cookie)
        XCTAssertEqual(page.status, 200, page.text)
        XCTAssertTrue(page.text.contains("billing"), page.text)
        XCTAssertFalse(page.text.contains("/endpoints/pause"), "a read-only page offers pause")
        let pause = try await HTTPCall.request("POST", "\(base)/endpoints/pause", body: Array("name=billing&csrf=\(auth.csrfToken)".utf8),
                                               headers: cookie.merging(["Content-Type": "application/x-www-form-urlencoded"]) { $1 })
        XCTAssertEqual(pause.status, 403, pause.text)
        XCTAssertTrue(pause.text.contains("read-only"), pause.text)
        let state = try await command(["endpoints", "--json"], env)
        XCTAssertTrue(state.stdout.contains(#""state":"ok""#), state.stdout)
    }

    /// Replay all of one endpoint and purge, each behind its confirmation page; a purge without
    /// the CSRF token is refused and deletes nothing.
    func testReplayAllOfAnEndpointAndPurgeAfterConfirming() async throws {
        let gone = try await receiver(.status(410))
        let file = try endpointsFile("""
            endpoints:
              - {name: alpha, url: "\(gone.url)", actions: [user_created]}
              - {name: beta, url: "\(gone.url)", actions: [user_deleted]}
            """)
        let env = ["WEBHOOK_ENDPOINTS_FILE": file, "WEBHOOK_SECRET": "dashboard-secret", "DASHBOARD_TOKEN": Self.token]
        let worker = try startWorker(env)
        try push(3, action: "user_created")
        try push(2, action: "user_deleted")
        try await waitFor("five dead letters", { try self.llen("dead") }, until: { $0 == 5 })
        await stop(worker)   // replayed letters then stay in the queue, where this test counts them

        let (dashboard, base) = try await startDashboard(env)
        defer { dashboard.kill() }
        let auth = DashboardAuth(token: Self.token)
        let cookie = ["Cookie": "\(DashboardAuth.cookieName)=\(auth.sessionValue)"]
        let form = cookie.merging(["Content-Type": "application/x-www-form-urlencoded"]) { $1 }

        let list = try await HTTPCall.request("GET", "\(base)/dead", headers: cookie)
        XCTAssertTrue(list.text.contains("op=replay-endpoint&amp;endpoint=alpha"), list.text)
        let confirm = try await HTTPCall.request("GET", "\(base)/dead/confirm?op=replay-endpoint&endpoint=alpha", headers: cookie)
        XCTAssertTrue(confirm.text.contains("Replay all 3 dead letters of <strong>alpha</strong>?"), confirm.text)
        let replay = try await HTTPCall.request("POST", "\(base)/dead/replay", body: Array("endpoint=alpha&csrf=\(auth.csrfToken)".utf8),
                                                headers: form)
        XCTAssertTrue(replay.text.contains("Replayed 3 dead letters."), replay.text)
        XCTAssertEqual(try llen("queue"), 3)
        XCTAssertEqual(try llen("dead"), 2)

        let forged = try await HTTPCall.request("POST", "\(base)/dead/purge", body: Array("csrf=\(auth.sessionValue)".utf8), headers: form)
        XCTAssertEqual(forged.status, 403, forged.text)
        XCTAssertEqual(try llen("dead"), 2, "a refused purge deleted dead letters")
        let confirmPurge = try await HTTPCall.request("GET", "\(base)/dead/confirm?op=purge", headers: cookie)
        XCTAssertTrue(confirmPurge.text.contains("Delete all 2 dead letters?"), confirmPurge.text)
        let purge = try await HTTPCall.request("POST", "\(base)/dead/purge", body: Array("csrf=\(auth.csrfToken)".utf8), headers: form)
        XCTAssertTrue(purge.text.contains("Purged 2 dead letters."), purge.text)
        XCTAssertEqual(try llen("dead"), 0)
    }
}
