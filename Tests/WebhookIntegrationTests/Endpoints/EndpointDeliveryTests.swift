import Foundation
import TestSupport
import XCTest

/// The endpoints file end to end: filters, secret rotation (checked with the `standardwebhooks`
/// library), Marzban and standard side by side, headers, Telegram, proxies (HTTP and SOCKS5).
final class EndpointDeliveryTests: WorkerTestCase {
    func testFiltersRotationAndMarzbanBesideStandard() async throws {
        let billing = try await receiver(), panel = try await receiver(), everything = try await receiver()
        let file = try endpointsFile("""
            endpoints:
              - name: billing
                url: \(billing.url)
                secrets: ["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "older-plain-secret"]
                actions: [user_limited]
                headers: {X-Env: test}
              - name: panel
                url: \(panel.url)
                compat: marzban
                secret: raw-panel-secret
              - name: everything
                url: \(everything.url)
            """)
        let worker = try startWorker(["WEBHOOK_ENDPOINTS_FILE": file, "WEBHOOK_SECRET": "global"])
        try push(3, action: "user_created")
        try push(2, action: "user_limited")
        _ = try await everything.waitForRequests(count: 5, timeout: 30)
        let limited = try await billing.waitForRequests(count: 2, timeout: 30)
        let drained = try await eventuallyAsync(timeout: 30) { try self.processingTotal() == 0 && self.llen("queue") == 0 }
        XCTAssertTrue(drained)
        XCTAssertEqual(billing.count, 2, "the filtered endpoint gets exactly its actions")
        XCTAssertTrue(try limited.allSatisfy { try json($0)["action"] as? String == "user_limited" })
        XCTAssertTrue(limited.allSatisfy { $0.header("x-env") == "test" })
        // Both rotated secrets verify with the Standard Webhooks library, each on its own.
        for request in limited {
            for secret in ["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "older-plain-secret"] {
                XCTAssertEqual(try Self.verify(request, secret: secret), "ok", "secret \(secret)")
            }
            XCTAssertNotEqual(try Self.verify(request, secret: "whsec_" + Data("wrong".utf8).base64EncodedString()), "ok")
            XCTAssertEqual(request.header("x-webhook-secret"),
                           hexHMAC(request.body, secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"), "the first secret signs")
        }
        // Marzban mode beside standard: arrays with the raw secret, no Standard Webhooks headers.
        let arrays = panel.requests
        XCTAssertFalse(arrays.isEmpty)
        XCTAssertTrue(arrays.allSatisfy { $0.body.first == UInt8(ascii: "[") && $0.header("x-webhook-secret") == "raw-panel-secret" })
        XCTAssertTrue(arrays.allSatisfy { $0.header("webhook-signature") == nil })
        let panelEvents = try arrays.flatMap { try XCTUnwrap(JSONSerialization.jsonObject(with: Data($0.body)) as? [Any]) }
        XCTAssertEqual(panelEvents.count, 5)
        XCTAssertTrue(everything.requests.allSatisfy { $0.header("x-webhook-secret") == hexHMAC($0.body, secret: "global") })
        await stop(worker)
    }

    func testTelegramMessagesAreEscapedAnd429IsHonoured() async throws {
        let telegram = try await receiver(.respond { _, index in
            index == 0
                ? ReceiverResponse(status: 429, headers: [("Content-Type", "application/json")],
                                   body: Array(#"{"ok":false,"error_code":429,"parameters":{"retry_after":1}}"#.utf8))
                : ReceiverResponse(status: 200, body: Array(#"{"ok":true}"#.utf8))
        })
        let file = try endpointsFile("""
            endpoints:
              - name: ops-chat
                kind: telegram
                bot_token: "123456:SECRET-token_abc"
                chat_id: "-1001234567890"
                api_url: \(telegram.baseURL)
            """)
        let worker = try startWorker(["WEBHOOK_ENDPOINTS_FILE": file, "LOG_LEVEL": "trace"])
        _ = try redisCLI(["LPUSH", "\(prefix):queue", #"{"action":"user_limited","username":"<b>&amp","by":{"username":"ad<min>"}}"#])
        let requests = try await telegram.waitForRequests(count: 2, timeout: 30)
        XCTAssertEqual(requests[1].path, "/bot123456:SECRET-token_abc/sendMessage")
        XCTAssertGreaterThanOrEqual(requests[1].arrival - requests[0].arrival, 0.9, "retry_after honoured")
        let body = try json(requests[1])
        XCTAssertEqual(body["chat_id"] as? String, "-1001234567890")
        XCTAssertEqual(body["parse_mode"] as? String, "HTML")
        let text = try XCTUnwrap(body["text"] as? String)
        XCTAssertTrue(text.contains("&lt;b&gt;&amp;amp"), text)
        XCTAssertTrue(text.contains("ad&lt;min&gt;"), text)
        XCTAssertFalse(text.contains("<b>&amp"), text)
        XCTAssertEqual(try llen("dead"), 0)
        await stop(worker)
        XCTAssertFalse(worker.log.contains("SECRET-token_abc"), "the bot token never reaches the log")
        XCTAssertFalse(try cli(["endpoints"]).output.contains("SECRET-token_abc"))
    }

    /// Two endpoints, `censored` through the proxy `fixture` (as `scheme`://) and `open` direct;
    /// returns once each received 5 events.
    private func deliverBesideAProxy(_ fixture: String, scheme: String, environment: [String: String] = [:]) async throws
        -> (proxy: FixtureProcess, proxied: HTTPReceiver, direct: HTTPReceiver, worker: WorkerProcess) {
        let proxied = try await receiver(), direct = try await receiver()
        let proxy = try FixtureProcess(fixture)
        let file = try endpointsFile("""
            endpoints:
              - name: censored
                url: \(proxied.url)
                proxy: \(scheme)://127.0.0.1:\(proxy.port)
              - name: open
                url: \(direct.url)
            """)
        let worker = try startWorker(environment.merging(["WEBHOOK_ENDPOINTS_FILE": file]) { $1 })
        try push(5)
        _ = try await proxied.waitForRequests(count: 5, timeout: 30)
        _ = try await direct.waitForRequests(count: 5, timeout: 30)
        return (proxy, proxied, direct, worker)
    }

    func testAProxiedEndpointGoesThroughTheProxyAndTheOthersDirect() async throws {
        let (proxy, _, direct, worker) = try await deliverBesideAProxy("forward_proxy.py", scheme: "http")
        defer { proxy.stop() }
        // The proxy logs after relaying the answer: wait for its fifth line.
        let through = try await eventuallyAsync(timeout: 10) { proxy.log.components(separatedBy: "proxied ").count - 1 == 5 }
        XCTAssertTrue(through, "every request of the proxied endpoint went through the proxy:\n\(proxy.log)")
        XCTAssertFalse(proxy.log.contains(direct.url), "the other endpoint went direct")
        await stop(worker)
    }

    /// The endpoint's `proxy` is the only say: libcurl's proxy variables are ignored (README,
    /// Proxy), `NO_PROXY` included, which libcurl would otherwise read for every request.
    func testNoProxyInTheEnvironmentDoesNotSendAProxiedEndpointDirect() async throws {
        let (proxy, _, _, worker) = try await deliverBesideAProxy(
            "forward_proxy.py", scheme: "http", environment: ["NO_PROXY": "*", "no_proxy": "*"])
        defer { proxy.stop() }
        let through = try await eventuallyAsync(timeout: 10) { proxy.log.components(separatedBy: "proxied ").count - 1 == 5 }
        XCTAssertTrue(through, "NO_PROXY=* took the proxied endpoint off its proxy:\n\(proxy.log)")
        await stop(worker)
    }

    func testASocks5ProxiedEndpointGoesThroughTheProxyAndTheOthersDirect() async throws {
        let (proxy, proxied, direct, worker) = try await deliverBesideAProxy("socks5_proxy.py", scheme: "socks5")
        defer { proxy.stop() }
        // socks5://: the worker resolves the name and asks for an IPv4 address. A connection
        // carries several requests, so there may be fewer CONNECTs than deliveries.
        let connects = Self.connects(proxy.log)
        XCTAssertFalse(connects.isEmpty, "the proxied endpoint's deliveries went through the proxy:\n\(proxy.log)")
        XCTAssertEqual(Set(connects), ["127.0.0.1:\(proxied.port)"], proxy.log)
        XCTAssertFalse(proxy.log.contains(":\(direct.port)"), "the other endpoint went direct")
        await stop(worker)
    }

    func testASocks5hProxyResolvesTheEndpointsHostName() async throws {
        let proxied = try await receiver()
        let proxy = try FixtureProcess("socks5_proxy.py")
        defer { proxy.stop() }
        let file = try endpointsFile("""
            endpoints:
              - name: by-name
                url: http://localhost:\(proxied.port)/hook
                proxy: socks5h://127.0.0.1:\(proxy.port)
            """)
        let worker = try startWorker(["WEBHOOK_ENDPOINTS_FILE": file])
        try push(3)
        _ = try await proxied.waitForRequests(count: 3, timeout: 30)
        // socks5h://: the name itself reaches the proxy, which resolves it.
        let connects = Self.connects(proxy.log)
        XCTAssertFalse(connects.isEmpty, proxy.log)
        XCTAssertEqual(Set(connects), ["localhost:\(proxied.port)"], proxy.log)
        await stop(worker)
    }

    /// The targets `socks5_proxy.py` logged, one per CONNECT.
    static func connects(_ log: String) -> [String] {
        log.split(separator: "\n").compactMap { $0.hasPrefix("connect ") ? String($0.dropFirst("connect ".count)) : nil }
    }

    func testAWrongFileStopsStartUpNamingFileEndpointAndField() throws {
        let file = try endpointsFile("""
            endpoints:
              - name: billing
                url: http://127.0.0.1:1/hook
                rate: 20 per second
            """)
        let worker = try startWorker(["WEBHOOK_ENDPOINTS_FILE": file])
        let status = worker.waitForExit(timeout: 20)
        XCTAssertNotNil(status)
        XCTAssertNotEqual(status, 0)
        for part in [URL(fileURLWithPath: file).lastPathComponent, "billing", "rate"] {
            XCTAssertTrue(worker.log.contains(part), "names \(part):\n\(worker.log)")
        }
    }

    /// Verifies a request with the Standard Webhooks Python library; returns "ok" or its error.
    static func verify(_ request: RecordedRequest, secret: String) throws -> String {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("verify-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try Data(request.body).write(to: directory.appendingPathComponent("body"))
        let headers = ["webhook-id", "webhook-timestamp", "webhook-signature"].map { request.header($0) ?? "" }
        let key = secret.hasPrefix("whsec_") ? secret : "whsec_" + Data(secret.utf8).base64EncodedString()
        let script = """
            import sys
            from standardwebhooks.webhooks import Webhook
            body = open(sys.argv[1], "rb").read()
            try:
                Webhook(sys.argv[2]).verify(body, {"webhook-id": sys.argv[3], "webhook-timestamp": sys.argv[4], "webhook-signature": sys.argv[5]})
                print("ok")
            except Exception as error:
                print("failed:", error)
            """
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", script, directory.appendingPathComponent("body").path, key] + headers
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return output.trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
