import XCTest
@testable import WebhookCore

final class EndpointsFileTests: XCTestCase {
    private let defaults = EndpointDefaults(secret: "global", compat: .standard, timeout: 10, concurrency: 48)

    private func parse(_ yaml: String, file: String = "endpoints.yaml") throws -> EndpointsFile {
        try EndpointsFile.parse(yaml, file: file, defaults: defaults)
    }

    /// The message of the error parsing `yaml` throws (fails the test when it parses).
    private func failure(_ yaml: String, file: StaticString = #filePath, line: UInt = #line) -> String {
        do throws(EndpointsFileError) {
            let parsed = try EndpointsFile.parse(yaml, file: "endpoints.yaml", defaults: defaults)
            XCTFail("parsed: \(parsed.endpoints.map(\.name))", file: file, line: line)
            return ""
        } catch {
            return error.description
        }
    }

    func testTheSpecExampleParsesWithEveryField() throws {
        let parsed = try parse("""
            endpoints:
              - name: billing                 # unique
                url: https://billing.example/hook
                secrets: [new, old]
                actions: [user_limited, user_expired]
                compat: marzban
                rate: 20/s
                concurrency: 8
                timeout: 5
                proxy: socks5://127.0.0.1:1080
                headers: {Authorization: "Bearer x", X-Team: ops}
                notify: [ops-chat]
              - name: ops-chat
                kind: telegram
                bot_token: "123456:ABC-def_1"
                chat_id: "-1001234567890"
                api_url: http://127.0.0.1:8081/
              - name: team-discord
                kind: discord
                url: https://discord.com/api/webhooks/123456789012345678/AbCdEfGhIjKlMnOpQrStUvWxYz0123456789-_abcdefghijklmnop
                timeout: 2500ms
              - name: plain
                url: http://127.0.0.1:9000/hook
            """)
        XCTAssertEqual(parsed.endpoints.count, 4)
        let billing = parsed.endpoints[0]
        XCTAssertEqual(billing, EndpointSpec(
            name: "billing", kind: .webhook, url: "https://billing.example/hook", secrets: ["new", "old"],
            actions: ["user_limited", "user_expired"], compat: .marzban,
            headers: [("Authorization", "Bearer x"), ("X-Team", "ops")], timeout: 5, concurrency: 8,
            rate: RateLimit(count: 20, per: .second), proxy: "socks5://127.0.0.1:1080", notify: ["ops-chat"]))
        XCTAssertEqual(billing.headerLines, ["Authorization: Bearer x", "X-Team: ops"])
        XCTAssertTrue(billing.accepts(action: "user_expired"))
        XCTAssertFalse(billing.accepts(action: "user_created"))

        let telegram = parsed.endpoints[1]
        XCTAssertEqual(telegram.kind, .telegram)
        XCTAssertEqual(telegram.url, "http://127.0.0.1:8081/bot123456:ABC-def_1/sendMessage")
        XCTAssertEqual(telegram.displayURL, "http://127.0.0.1:8081/bot***/sendMessage")
        XCTAssertEqual(telegram.telegram, TelegramTarget(botToken: "123456:ABC-def_1", chatID: "-1001234567890", apiURL: "http://127.0.0.1:8081"))
        XCTAssertEqual(telegram.secrets, [], "Telegram requests are never signed")
        XCTAssertEqual(telegram.rate, RateLimit(count: 20, per: .minute), "a group chat gets Telegram's group limit")
        XCTAssertNil(telegram.actions)
        XCTAssertEqual(telegram.timeout, 10)
        XCTAssertEqual(telegram.concurrency, 48)

        let discord = parsed.endpoints[2]
        XCTAssertEqual(discord.rate, RateLimit(count: 30, per: .minute))
        XCTAssertEqual(discord.secrets, [])
        XCTAssertEqual(discord.timeout, 2.5)
        XCTAssertEqual(discord.displayURL, "https://discord.com/api/webhooks/123456789012345678/***")

        let plain = parsed.endpoints[3]
        XCTAssertEqual(plain, EndpointSpec(name: "plain", kind: .webhook, url: "http://127.0.0.1:9000/hook", secrets: ["global"],
                                           compat: .standard, timeout: 10, concurrency: 48))
        XCTAssertEqual(parsed.warnings, [])
    }

    func testDefaultsAndOverrides() throws {
        let parsed = try parse("""
            endpoints:
              - {name: private-chat, kind: telegram, bot_token: "1:a", chat_id: 42}
              - {name: channel, kind: TELEGRAM, bot_token: "1:a", chat_id: "@news_feed"}
              - {name: fast-discord, kind: discord, url: "https://discord.com/api/webhooks/1/t", rate: unlimited}
              - {name: slow, url: "https://x.example/", rate: 30/m, secret: "one", actions: []}
            """)
        XCTAssertEqual(parsed.endpoints[0].rate, RateLimit(count: 1, per: .second))
        XCTAssertEqual(parsed.endpoints[0].telegram?.chatID, "42")
        XCTAssertEqual(parsed.endpoints[0].url, "https://api.telegram.org/bot1:a/sendMessage")
        XCTAssertEqual(parsed.endpoints[1].rate, RateLimit(count: 20, per: .minute))
        XCTAssertNil(parsed.endpoints[2].rate)
        XCTAssertEqual(parsed.endpoints[3].rate, RateLimit(count: 30, per: .minute))
        XCTAssertEqual(parsed.endpoints[3].secrets, ["one"])
        XCTAssertEqual(parsed.endpoints[3].actions, [])
        XCTAssertFalse(parsed.endpoints[3].accepts(action: "user_created"))
    }

    func testErrorsNameFileEndpointAndField() {
        XCTAssertEqual(failure("""
            endpoints:
              - name: billing
                url: https://billing.example/hook
                rate: 20 per second
            """), "endpoints.yaml: endpoint 'billing': field 'rate': expected N/s or N/m (N from 1 to 1000000) or 'unlimited', got '20 per second'")
        XCTAssertEqual(failure("""
            endpoints:
              - name: billing
                url: https://billing.example/hook
                action: [user_created]
            """), "endpoints.yaml: endpoint 'billing': field 'action': unknown field; expected one of name, url, kind, secret, secrets, signing_key, actions, compat, headers, timeout, concurrency, rate, proxy, notify, bot_token, chat_id, api_url, egress, drop_fields, url_from, chat_id_from, allowed_urls, ordering, order_key, order_max_block")
        XCTAssertEqual(failure("""
            endpoints:
              - {name: a, url: "https://a.example/"}
              - {url: "https://b.example/"}
            """), "endpoints.yaml: endpoint #2: field 'name': missing; every endpoint needs a unique name")
        XCTAssertEqual(failure("""
            endpoints:
              - {name: a, url: "https://a.example/"}
              - {name: a, url: "https://b.example/"}
            """), "endpoints.yaml: endpoint 'a': field 'name': 'a' is also the name of endpoint #1; names must be unique")
        XCTAssertEqual(failure("endpoints:\n  - {name: a, url: \"ftp://user:pw@a.example/x?token=abc\"}"),
                       "endpoints.yaml: endpoint 'a': field 'url': expected an http:// or https:// URL, got 'ftp://***@a.example/x?token=***'")
        XCTAssertEqual(failure("endpoints:\n  - {name: a}"), "endpoints.yaml: endpoint 'a': field 'url': missing")
        XCTAssertEqual(failure("endpoints:\n  - {name: tg, kind: telegram, chat_id: 1}"),
                       "endpoints.yaml: endpoint 'tg': field 'bot_token': missing; telegram endpoints need bot_token and chat_id")
        XCTAssertEqual(failure("endpoints:\n  - {name: tg, kind: telegram, bot_token: \"1:a\"}"),
                       "endpoints.yaml: endpoint 'tg': field 'chat_id': missing; telegram endpoints need bot_token and chat_id (or chat_id_from)")
        XCTAssertEqual(failure("endpoints:\n  - {name: tg, kind: telegram, bot_token: \"1:a\", chat_id: 1, url: \"https://x/\"}"),
                       "endpoints.yaml: endpoint 'tg': field 'url': not used by telegram endpoints (they are addressed by bot_token and chat_id)")
        XCTAssertEqual(failure("endpoints:\n  - {name: d, kind: discord, url: \"https://discord.com/api/webhooks/1/t\", secret: s}"),
                       "endpoints.yaml: endpoint 'd': field 'secret': not used by discord endpoints")
        XCTAssertEqual(failure("endpoints:\n  - {name: a, url: \"https://a/\", secret: x, secrets: [y]}"),
                       "endpoints.yaml: endpoint 'a': field 'secrets': give either 'secret' or 'secrets', not both")
        XCTAssertEqual(failure("endpoints:\n  - {name: a, url: \"https://a/\", kind: slack}"),
                       "endpoints.yaml: endpoint 'a': field 'kind': expected webhook, discord or telegram, got 'slack'")
        XCTAssertEqual(failure("endpoints:\n  - {name: a, url: \"https://a/\", proxy: \"ftp://p:1\"}"),
                       "endpoints.yaml: endpoint 'a': field 'proxy': expected an http://, https://, socks5:// or socks5h:// URL, got 'ftp://p:1'")
        XCTAssertEqual(failure("endpoints:\n  - {name: a, url: \"https://a/\", headers: {webhook-id: x}}"),
                       "endpoints.yaml: endpoint 'a': field 'headers': 'webhook-id' is set by the worker and cannot be replaced")
        XCTAssertEqual(failure("endpoints:\n  - {name: a, url: \"https://a/\", concurrency: 0}"),
                       "endpoints.yaml: endpoint 'a': field 'concurrency': expected an integer from 1 to 100000, got '0'")
        XCTAssertEqual(failure("endpoints:\n  - {name: a, url: \"https://a/\", timeout: -1}"),
                       "endpoints.yaml: endpoint 'a': field 'timeout': expected a positive number of seconds (or 500ms, 5s, 1m), got '-1'")
        XCTAssertEqual(failure("endpoints:\n  - {name: a, url: \"https://a/\", compat: v2}"),
                       "endpoints.yaml: endpoint 'a': field 'compat': expected 'standard' or 'marzban', got 'v2'")
        XCTAssertEqual(failure("endpoints:\n  - {name: \"has space\", url: \"https://a/\"}"),
                       "endpoints.yaml: endpoint #1: field 'name': expected 1 to 64 letters, digits or -_.:@, got 'has space'")
        XCTAssertEqual(failure("endpoints:\n  - {name: a, url: \"https://a/\", url: \"https://b/\"}"),
                       "endpoints.yaml: endpoint 'a': field 'url': given twice")
        XCTAssertEqual(failure("endpoints:\n  - {name: a, url: \"https://a/\", actions: user_created}"),
                       "endpoints.yaml: endpoint 'a': field 'actions': expected a list, like [a, b]")
        XCTAssertEqual(failure("endpoints:\n  - just-a-string"), "endpoints.yaml: endpoint #1: expected a mapping of fields (name, url, ...)")
        XCTAssertEqual(failure("hooks: []"), "endpoints.yaml: unknown top-level key 'hooks'; expected 'endpoints' (and x-... keys for anchors)")
        XCTAssertEqual(failure(""), "endpoints.yaml: expected a mapping with an 'endpoints' list at the top")
        XCTAssertEqual(failure("endpoints: {name: a}"), "endpoints.yaml: 'endpoints' must be a list of endpoints")
    }

    func testSecretsAreNeverEchoed() {
        let badToken = failure("endpoints:\n  - {name: tg, kind: telegram, bot_token: \"SECRET-TOKEN\", chat_id: 1}")
        XCTAssertEqual(badToken, "endpoints.yaml: endpoint 'tg': field 'bot_token': expected the token BotFather gives, like 123456:ABC-DEF (value not shown)")
        let blank = failure("endpoints:\n  - {name: a, url: \"https://a/\", secrets: [\"   \"]}")
        XCTAssertEqual(blank, "endpoints.yaml: endpoint 'a': field 'secrets': a secret must not be blank")
        let broken = failure("endpoints:\n  - {name: a, url: \"https://a/\", secret: \"SECRET-VALUE\\n\"}")
        XCTAssertEqual(broken, "endpoints.yaml: endpoint 'a': field 'secret': a secret contains a line break or control character")
        let brokenInList = failure("endpoints:\n  - {name: a, url: \"https://a/\", secrets: [new, \"SECRET\\rX\"]}")
        XCTAssertEqual(brokenInList, "endpoints.yaml: endpoint 'a': field 'secrets': a secret contains a line break or control character")
        let header = failure("endpoints:\n  - {name: a, url: \"https://a/\", headers: {Authorization: \"Bearer SECRET\\r\\nX: y\"}}")
        XCTAssertEqual(header, "endpoints.yaml: endpoint 'a': field 'headers': the value of 'Authorization' contains a line break or control character")
        // A YAML syntax error reports the position, not the offending line (it may hold a secret).
        let syntax = failure("endpoints:\n  - name: a\n    secret: \"SECRET-VALUE\n")
        XCTAssertTrue(syntax.hasPrefix("endpoints.yaml: not valid YAML: line "), syntax)
        XCTAssertFalse(syntax.contains("SECRET"), syntax)
    }

    func testAnchorsAndMergeKeysShareSettings() throws {
        let parsed = try parse("""
            x-defaults: &defaults
              timeout: 3
              secrets: [shared-new, shared-old]
              headers: {X-Env: prod}
            endpoints:
              - <<: *defaults
                name: a
                url: https://a.example/
              - <<: *defaults
                name: b
                url: https://b.example/
                timeout: 9
            """)
        XCTAssertEqual(parsed.endpoints.map(\.timeout), [3, 9])
        XCTAssertEqual(parsed.endpoints.map(\.secrets), [["shared-new", "shared-old"], ["shared-new", "shared-old"]])
        XCTAssertEqual(parsed.endpoints[1].headerLines, ["X-Env: prod"])
        XCTAssertEqual(failure("""
            x-defaults: &defaults
              retries: 3
            endpoints:
              - {<<: *defaults, name: a, url: "https://a/"}
            """), "endpoints.yaml: endpoint 'a': field 'retries': unknown field; expected one of name, url, kind, secret, secrets, signing_key, actions, compat, headers, timeout, concurrency, rate, proxy, notify, bot_token, chat_id, api_url, egress, drop_fields, url_from, chat_id_from, allowed_urls, ordering, order_key, order_max_block")
    }

    func testWarningsForLikelyTypos() throws {
        let parsed = try parse("""
            endpoints:
              - {name: a, url: "https://a/", actions: [user_created, user_creatd]}
              - {name: d, kind: discord, url: "https://example.com/hook"}
            """)
        XCTAssertEqual(parsed.warnings, [
            "endpoints.yaml: endpoint 'a': field 'actions': 'user_creatd' is not an action Marzban sends; kept as written",
            "endpoints.yaml: endpoint 'd': url does not look like a Discord webhook (https://discord.com/api/webhooks/...)",
        ])
        XCTAssertEqual(try parse("endpoints: []").warnings, ["endpoints.yaml: no endpoints"])
    }

    // MARK: Implicit endpoints

    func testImplicitEndpointsFromAddressAndDiscord() throws {
        let file = try parse("""
            endpoints:
              - {name: hooks.example, url: "https://other.example/", notify: [discord]}
              - {name: same, url: "http://127.0.0.1:9000/dup"}
            """)
        let (endpoints, warnings) = try EndpointsFile.resolve(
            file: file,
            addresses: ["https://hooks.example/a", "http://127.0.0.1:8080/b", "http://127.0.0.1:9000/dup", "http://[::1]:81/"],
            discordURL: "https://discord.com/api/webhooks/1/t", defaults: defaults)
        XCTAssertEqual(endpoints.map(\.name), ["address-1", "127.0.0.1:8080", "address-4", "discord", "hooks.example", "same"])
        XCTAssertEqual(endpoints.map(\.isImplicit), [true, true, true, true, false, false])
        XCTAssertEqual(endpoints[0], EndpointSpec(name: "address-1", kind: .webhook, url: "https://hooks.example/a", secrets: ["global"],
                                                  compat: .standard, timeout: 10, concurrency: 48, isImplicit: true))
        XCTAssertEqual(endpoints[3].kind, .discord)
        XCTAssertEqual(endpoints[3].secrets, [])
        XCTAssertEqual(endpoints[3].rate, RateLimit.discordDefault)
        XCTAssertEqual(warnings, ["WEBHOOK_ADDRESS: 'http://127.0.0.1:9000/dup' is also endpoint 'same' of endpoints.yaml; delivering once, as 'same'"])

        let alone = try EndpointsFile.resolve(file: nil, addresses: ["https://a.example/x", "https://a.example/y"],
                                              discordURL: nil, defaults: EndpointDefaults())
        XCTAssertEqual(alone.endpoints.map(\.name), ["a.example", "address-2"])
        XCTAssertEqual(alone.endpoints[0].secrets, [])
    }

    func testNotifyMustNameAnotherEndpoint() throws {
        let unknown = try parse("endpoints:\n  - {name: a, url: \"https://a/\", notify: [ops]}")
        XCTAssertThrowsError(try EndpointsFile.resolve(file: unknown, addresses: ["https://b.example/"], discordURL: nil, defaults: defaults)) {
            XCTAssertEqual(($0 as? EndpointsFileError)?.description,
                           "endpoints.yaml: endpoint 'a': field 'notify': no endpoint is named 'ops'; known: b.example, a")
        }
        let itself = try parse("endpoints:\n  - {name: a, url: \"https://a/\", notify: [a]}")
        XCTAssertThrowsError(try EndpointsFile.resolve(file: itself, addresses: [], discordURL: nil, defaults: defaults)) {
            XCTAssertEqual(($0 as? EndpointsFileError)?.field, "notify")
        }
    }

    func testRoutesFromTheEventAndWhatTheyRefuse() throws {
        let parsed = try parse("""
            endpoints:
              - {name: admins, kind: discord, url_from: user.admin.discord_webhook}
              - {name: own, kind: discord, url_from: by.discord_webhook, allowed_urls: ["https://hooks.example/discord/"]}
              - {name: chats, kind: telegram, bot_token: "1:abc", chat_id_from: user.admin.telegram_id}
            """)
        XCTAssertEqual(parsed.endpoints.map { $0.route?.field }, ["user.admin.discord_webhook", "by.discord_webhook", "user.admin.telegram_id"])
        XCTAssertNil(parsed.endpoints[0].route?.allowedURLs, "Discord's own URLs by default")
        XCTAssertEqual(parsed.endpoints[1].route?.allowedURLs, ["https://hooks.example/discord/"])
        XCTAssertEqual(parsed.endpoints[2].telegram?.botToken, "1:abc")
        XCTAssertEqual(parsed.endpoints[0].rate, RateLimit.discordDefault)

        XCTAssertTrue(failure("endpoints:\n  - {name: a, kind: discord, url: \"https://d/\", url_from: x.y}").contains("field 'url_from': give either"))
        XCTAssertTrue(failure("endpoints:\n  - {name: a, kind: webhook, url_from: x.y}").contains("field 'url_from': not used by webhook"))
        XCTAssertTrue(failure("endpoints:\n  - {name: a, kind: discord, url: \"https://d/\", allowed_urls: [\"https://d/\"]}").contains("only used with url_from"))
        XCTAssertTrue(failure("endpoints:\n  - {name: a, kind: discord, url_from: \"x..y\"}").contains("dotted path"))
        XCTAssertTrue(failure("endpoints:\n  - {name: a, kind: discord, url_from: x, allowed_urls: [ftp://x/]}").contains("allowed_urls"))
        XCTAssertTrue(failure("endpoints:\n  - {name: a, kind: telegram, bot_token: \"1:a\", chat_id: \"1\", chat_id_from: x}").contains("give either"))
    }

    func testDiscordPerAdminAddsAnImplicitRoutedEndpoint() throws {
        let (endpoints, _) = try EndpointsFile.resolve(file: nil, addresses: [], discordURL: "https://discord.com/api/webhooks/1/t",
                                                       discordPerAdmin: true, defaults: defaults)
        XCTAssertEqual(endpoints.map(\.name), ["discord", "discord-admin"])
        XCTAssertEqual(endpoints[1].route, EndpointRoute(field: "user.admin.discord_webhook"))
        XCTAssertEqual(endpoints[1].rate, RateLimit.discordDefault)
        XCTAssertTrue(endpoints[1].isImplicit)
    }

    func testOrderingPerKeyWithItsDefaultsAndOverrides() throws {
        let parsed = try parse("""
            endpoints:
              - name: a
                url: https://a.example/hook
                ordering: per-key
              - name: b
                url: https://b.example/hook
                ordering: per-key
                order_key: admin_id
                order_max_block: 90s
              - name: c
                url: https://c.example/hook
            """)
        XCTAssertEqual(parsed.endpoints.map(\.ordering), [OrderingSpec(key: "username", maxBlock: 3600),
                                                          OrderingSpec(key: "admin_id", maxBlock: 90), nil])
    }

    func testOrderingErrorsNameTheField() {
        XCTAssertTrue(failure("endpoints:\n  - name: a\n    url: https://a.example/\n    ordering: global\n")
            .contains("field 'ordering'"))
        XCTAssertTrue(failure("endpoints:\n  - name: a\n    url: https://a.example/\n    order_key: username\n")
            .contains("field 'order_key': only used with 'ordering: per-key'"))
        XCTAssertTrue(failure("endpoints:\n  - name: a\n    url: https://a.example/\n    ordering: per-key\n    order_key: 'a b'\n")
            .contains("field 'order_key'"))
        XCTAssertTrue(failure("endpoints:\n  - name: a\n    url: https://a.example/\n    ordering: per-key\n    order_max_block: soon\n")
            .contains("field 'order_max_block'"))
    }
}
