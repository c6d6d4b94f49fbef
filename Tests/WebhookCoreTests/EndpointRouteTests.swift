import XCTest
@testable import WebhookCore

/// Destinations taken from the event (`url_from`, `chat_id_from`): what is sent, skipped or
/// refused, and how the ledger keeps a retry on the destination its event names.
final class EndpointRouteTests: XCTestCase {
    private let auth = ItemAuthenticator(keyMaterial: Array("route-test-key-0123456789".utf8))
    private var random = SystemRandomNumberGenerator()

    private func event(admin: String) throws -> Event {
        try Event.parse(Array(#"{"action":"user_created","username":"u","user":{"username":"u","admin":\#(admin)}}"#.utf8),
                        maxBytes: 10_000, now: 1)
    }

    private func discordRoute(_ allowed: [String]? = nil) -> EndpointRoute {
        EndpointRoute(field: "user.admin.discord_webhook", allowedURLs: allowed)!
    }

    func testDiscordURLsPassOnlyWhenTheyAreDiscordWebhooks() throws {
        let route = discordRoute()
        let good = "https://discord.com/api/webhooks/123456/abc-DEF_ghi"
        XCTAssertEqual(route.resolve(try event(admin: #"{"discord_webhook":"\#(good)"}"#), kind: .discord), .destination(good))
        XCTAssertEqual(route.resolve(try event(admin: #"{"discord_webhook":"https://discordapp.com/api/webhooks/1/t"}"#), kind: .discord),
                       .destination("https://discordapp.com/api/webhooks/1/t"))
        for hostile in ["http://169.254.169.254/", "https://discord.com.evil.example/api/webhooks/1/t",
                        "https://discord.com@169.254.169.254/api/webhooks/1/t", "https://discord.com:8080/api/webhooks/1/t",
                        "https://discord.com/api/webhooks/1/t?wait=true", "https://discord.com/api/webhooks/1/../../x",
                        "https://discord.com/api/webhooks/x/t", "http://discord.com/api/webhooks/1/t",
                        "https://discord.com/api/webhooks/1/t\\n"] {
            guard case .refuse(let why) = route.resolve(try event(admin: #"{"discord_webhook":"\#(hostile)"}"#), kind: .discord) else {
                XCTFail("\(hostile) was not refused")
                continue
            }
            XCTAssertFalse(why.contains(hostile), "the URL (a credential) is not repeated: \(why)")
        }
    }

    func testAbsentNullOrEmptySkipsAndOtherTypesAreRefused() throws {
        let route = discordRoute()
        XCTAssertEqual(route.resolve(try event(admin: #"{"username":"a"}"#), kind: .discord), .skip)
        XCTAssertEqual(route.resolve(try event(admin: #"{"discord_webhook":null}"#), kind: .discord), .skip)
        XCTAssertEqual(route.resolve(try event(admin: #"{"discord_webhook":""}"#), kind: .discord), .skip)
        XCTAssertEqual(route.resolve(try event(admin: "null"), kind: .discord), .skip)
        guard case .refuse = route.resolve(try event(admin: #"{"discord_webhook":["x"]}"#), kind: .discord) else {
            return XCTFail("a list is not a URL")
        }
    }

    func testAllowedURLsReplaceTheDiscordDefaultAtAPathBoundary() throws {
        let route = discordRoute(["https://hooks.example", "http://127.0.0.1:8080/discord/"])
        for allowed in ["https://hooks.example/a", "https://hooks.example", "http://127.0.0.1:8080/discord/x"] {
            XCTAssertEqual(route.resolve(try event(admin: #"{"discord_webhook":"\#(allowed)"}"#), kind: .discord), .destination(allowed))
        }
        for refused in ["https://hooks.example.evil/a", "https://hooks.example@evil/a", "https://discord.com/api/webhooks/1/t",
                        "http://127.0.0.1:8080/discordx", "http://127.0.0.1:8080/discord/%2e%2e/admin"] {
            guard case .refuse = route.resolve(try event(admin: #"{"discord_webhook":"\#(refused)"}"#), kind: .discord) else {
                XCTFail("\(refused) was not refused")
                continue
            }
        }
    }

    func testTelegramChatIDsFromNumbersOrStrings() throws {
        let route = EndpointRoute(field: "user.admin.telegram_id")!
        XCTAssertEqual(route.resolve(try event(admin: #"{"telegram_id":123456789}"#), kind: .telegram), .destination("123456789"))
        XCTAssertEqual(route.resolve(try event(admin: #"{"telegram_id":"-1001"}"#), kind: .telegram), .destination("-1001"))
        XCTAssertEqual(route.resolve(try event(admin: #"{"telegram_id":null}"#), kind: .telegram), .skip)
        guard case .refuse = route.resolve(try event(admin: #"{"telegram_id":"12/../x"}"#), kind: .telegram) else {
            return XCTFail("not a chat ID")
        }
        guard case .refuse = route.resolve(try event(admin: #"{"telegram_id":1.5e3}"#), kind: .telegram) else {
            return XCTFail("not an integer")
        }
    }

    // MARK: The ledger

    private func routedTarget() -> Target {
        var spec = EndpointSpec(name: "per-admin", kind: .discord, url: "event:user.admin.discord_webhook", rate: .discordDefault)
        spec.route = discordRoute()
        return Target(spec: spec)
    }

    /// A routed endpoint's destinations are one endpoint to the ledger (same key: one backlog,
    /// one retry and dead-letter target) and distinct targets to the request builder (its lanes
    /// are keyed by target: each destination has its own).
    func testAResolvedDestinationSharesItsEndpointsKeyButNotItsIdentity() {
        let routed = routedTarget()
        let first = routed.resolved(to: "https://discord.com/api/webhooks/1/a")
        let again = routed.resolved(to: "https://discord.com/api/webhooks/1/a")
        let second = routed.resolved(to: "https://discord.com/api/webhooks/2/b")
        XCTAssertEqual(first.key, routed.key)
        XCTAssertEqual(second.key, routed.key)
        XCTAssertEqual(Set([first.key, second.key, routed.key]).count, 1)
        XCTAssertEqual(first, again, "the same destination resolved twice is the same target")
        XCTAssertEqual(first.hashValue, again.hashValue)
        XCTAssertNotEqual(first, second)
        XCTAssertNotEqual(first, routed)
        XCTAssertEqual(Set([first, again, second, routed]).count, 3)
        XCTAssertNotEqual(Target(kind: .webhook, url: "http://a.example/").key, Target(kind: .webhook, url: "http://b.example/").key)
    }

    private func ledger(_ targets: [Target]) -> DeliveryLedger {
        DeliveryLedger(settings: .init(targets: targets, retry: RetryPolicy(retries: 3, delay: 1), maxPayloadBytes: 10_000,
                                       maxCrashes: 3, laggardSlack: 512, deferDelay: 30), authenticator: auth)
    }

    private func item(admin: String) -> [UInt8] {
        Array(#"#tag {"action":"user_created","username":"u","user":{"username":"u","admin":\#(admin)}}"#.utf8)
    }

    func testTheLedgerSendsEachEventToItsOwnDestinationSkipsAndRefuses() throws {
        let routed = routedTarget(), global = Target(kind: .discord, url: "https://discord.com/api/webhooks/9/global")
        var ledger = ledger([global, routed])
        let first = "https://discord.com/api/webhooks/1/one", second = "https://discord.com/api/webhooks/2/two"
        let admission = ledger.admit([item(admin: #"{"discord_webhook":"\#(first)"}"#), item(admin: #"{"discord_webhook":"\#(second)"}"#),
                                      item(admin: #"{"username":"none"}"#), item(admin: #"{"discord_webhook":"http://169.254.169.254/"}"#)],
                                     now: 10)
        XCTAssertEqual(admission.attempts.filter { $0.target.id == routed.id }.map(\.target.url), [first, second])
        XCTAssertEqual(admission.attempts.filter { $0.target.id == global.id }.count, 4, "the global endpoint gets every event")
        let routedAttempts = admission.attempts.filter { $0.target.id == routed.id }
        XCTAssertNotEqual(routedAttempts[0].target.breakerKey, routedAttempts[1].target.breakerKey, "a breaker per destination")
        XCTAssertNotEqual(RateScope(routedAttempts[0].target), RateScope(routedAttempts[1].target), "a rate limit per destination")
        XCTAssertEqual(routedAttempts[0].target.name, "per-admin", "one endpoint name: metrics, dead letters")
        XCTAssertEqual(admission.notes.filter { $0.kind == .skipped }.count, 1)
        let refused = admission.notes.filter { $0.kind == .refused }
        XCTAssertEqual(refused.count, 1)
        XCTAssertTrue(refused.first?.reason?.contains("not a Discord webhook URL") == true, "\(refused)")

        // Retries keep the destination their event names; the item carries its fingerprint.
        var retries: [[UInt8]] = []
        for attempt in routedAttempts {
            let token = ledger.track(attempts: [attempt])
            let completion = ledger.complete(request: token, result: .status(503, retryAfter: nil, body: []), now: 11, random: &random)
            for settlement in completion.settlements {
                for case .retry(_, let item) in settlement.outcomes { retries.append(item) }
            }
        }
        for attempt in admission.attempts where attempt.target.id == global.id {
            let token = ledger.track(attempts: [attempt])
            let completion = ledger.complete(request: token, result: .status(204, retryAfter: nil, body: []), now: 11, random: &random)
            for settlement in completion.settlements {
                for case .retry(_, let item) in settlement.outcomes { retries.append(item) }
            }
        }
        XCTAssertEqual(retries.count, 2)
        var again = self.ledger([global, routed])
        let readmitted = again.admit(retries, now: 20)
        XCTAssertEqual(readmitted.attempts.map(\.target.url).sorted(), [first, second])
        XCTAssertEqual(readmitted.attempts.map(\.tries), [1, 1])
    }

    func testARetryIsNotSentWhenTheConfigurationNowResolvesItElsewhere() throws {
        // The same event resolves to another chat when the bot changes: the fence refuses it.
        func telegram(_ token: String) -> Target {
            var spec = EndpointSpec(name: "admins", kind: .telegram, url: TelegramTarget(botToken: token, chatID: "").sendMessageURL,
                                    telegram: TelegramTarget(botToken: token, chatID: ""))
            spec.route = EndpointRoute(field: "user.admin.telegram_id")
            return Target(spec: spec)
        }
        var before = ledger([telegram("1:old")])
        let attempt = try XCTUnwrap(before.admit([item(admin: #"{"telegram_id":42}"#)], now: 1).attempts.first)
        XCTAssertEqual(attempt.target.spec?.telegram?.chatID, "42")
        let token = before.track(attempts: [attempt])
        let completion = before.complete(request: token, result: .status(500, retryAfter: nil, body: []), now: 2, random: &random)
        guard case .retry(_, let retry) = completion.settlements.first?.outcomes.first else { return XCTFail("no retry") }
        var after = ledger([telegram("1:new")])
        let readmitted = after.admit([retry], now: 3)
        XCTAssertTrue(readmitted.attempts.isEmpty)
        XCTAssertEqual(readmitted.notes.map(\.kind), [.refused])
        var same = ledger([telegram("1:old")])
        XCTAssertEqual(same.admit([retry], now: 3).attempts.count, 1)
    }
}
