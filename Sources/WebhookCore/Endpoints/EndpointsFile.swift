import Foundation
import Yams

/// The endpoints file (WEBHOOK_ENDPOINTS_FILE, YAML): its endpoints, checked and with every
/// default applied. Strict on purpose: an unknown or misplaced field is an error, because a typo
/// (`action:` for `actions:`) would otherwise silently send every event somewhere.
///
/// ```yaml
/// endpoints:
///   - name: billing
///     url: https://billing.example/hook
///     secrets: [new, old]
///     signing_key: whsk_...        # Ed25519 (v1a); a list [new, old] during a rotation
///     actions: [user_limited, user_expired]
///     rate: 20/s
///   - name: ops-chat
///     kind: telegram
///     bot_token: "123456:ABC..."
///     chat_id: "-1001234567890"
/// ```
///
/// Shared settings can live under a top-level `x-...` key with an anchor and be merged into
/// endpoints with `<<: *anchor`; fields the endpoint sets itself win.
///
/// Parsing only reads the text it is given; reading the file is the caller's.
public struct EndpointsFile: Sendable {
    /// The file as named in WEBHOOK_ENDPOINTS_FILE (used in error messages).
    public let file: String
    /// The file's endpoints, in file order.
    public let endpoints: [EndpointSpec]
    /// Findings that do not stop start-up (e.g. an action name Marzban does not send).
    public let warnings: [String]

    /// Every field an endpoint may have.
    public static let fields = ["name", "url", "kind", "secret", "secrets", "signing_key", "actions", "compat", "headers", "timeout",
                                "concurrency", "rate", "proxy", "notify", "bot_token", "chat_id", "api_url", "egress", "drop_fields",
                                "url_from", "chat_id_from", "allowed_urls",
                                "ordering", "order_key", "order_max_block"]
    /// Fields that only some kinds take, and which.
    static let kindFields: [String: Set<EndpointKind>] = [
        "url": [.webhook, .discord], "secret": [.webhook], "secrets": [.webhook], "signing_key": [.webhook],
        "compat": [.webhook],
        "bot_token": [.telegram], "chat_id": [.telegram], "api_url": [.telegram], "drop_fields": [.webhook],
        "url_from": [.discord], "allowed_urls": [.discord], "chat_id_from": [.telegram],
    ]
    /// Headers the worker sets itself; the file may not replace them.
    static let reservedHeaders: Set<String> = ["content-type", "content-length", "host", "transfer-encoding", "connection",
                                               "webhook-id", "webhook-timestamp", "webhook-signature", "x-webhook-secret"]
    /// The actions Marzban sends; others are allowed in filters but warned about (likely typos).
    static let knownActions: Set<String> = ["user_created", "user_updated", "user_deleted", "user_limited", "user_expired",
                                            "user_enabled", "user_disabled", "data_usage_reset", "data_reset_by_next",
                                            "subscription_revoked", "reached_usage_percent", "reached_days_left"]
    /// The proxy schemes libcurl is asked to use.
    public static let proxySchemes = ["http", "https", "socks5", "socks5h"]

    public init(file: String, endpoints: [EndpointSpec], warnings: [String] = []) {
        self.file = file
        self.endpoints = endpoints
        self.warnings = warnings
    }

    /// Parses and checks the endpoints file's `text`. Errors name `file`, the endpoint and the
    /// field. `notify` names are checked later, by ``resolve(file:addresses:discordURL:defaults:)``,
    /// since they may name implicit endpoints.
    public static func parse(_ text: String, file: String, defaults: EndpointDefaults) throws(EndpointsFileError) -> EndpointsFile {
        let fileError = { (message: String) in EndpointsFileError(file: file, endpoint: nil, field: nil, message: message) }
        let root: Node?
        do {
            root = try Yams.compose(yaml: text)
        } catch let error as YamlError {
            throw fileError("not valid YAML: \(describe(error))")
        } catch {
            throw fileError("not valid YAML")
        }
        guard let root, case .mapping(let top) = root else {
            throw fileError("expected a mapping with an 'endpoints' list at the top")
        }
        var list: Node?
        for (key, value) in top {
            // `x-...` keys hold shared settings for YAML anchors (`x-defaults: &defaults`).
            if key.scalar?.string.hasPrefix("x-") == true { continue }
            guard key.scalar?.string == "endpoints" else {
                throw fileError("unknown top-level key '\(key.scalar?.string ?? "?")'; expected 'endpoints' (and x-... keys for anchors)")
            }
            guard list == nil else { throw fileError("'endpoints' is given twice") }
            list = value
        }
        guard let list else { throw fileError("expected a mapping with an 'endpoints' list at the top") }
        guard case .sequence(let items) = list else {
            if isNull(list) { return EndpointsFile(file: file, endpoints: [], warnings: ["\(file): no endpoints"]) }
            throw fileError("'endpoints' must be a list of endpoints")
        }

        var endpoints: [EndpointSpec] = []
        var warnings: [String] = []
        for (offset, item) in items.enumerated() {
            var parser = try EndpointParser(node: item, position: offset + 1, file: file)
            let endpoint = try parser.endpoint(defaults: defaults)
            if let earlier = endpoints.firstIndex(where: { $0.name == endpoint.name }) {
                throw parser.error("name", "'\(endpoint.name)' is also the name of endpoint #\(earlier + 1); names must be unique")
            }
            endpoints.append(endpoint)
            warnings += parser.warnings
        }
        if endpoints.isEmpty { warnings.append("\(file): no endpoints") }
        return EndpointsFile(file: file, endpoints: endpoints, warnings: warnings)
    }

    /// A YAML error as `line L column C: problem`, without the snippet of the file Yams adds
    /// (it could show a secret).
    private static func describe(_ error: YamlError) -> String {
        switch error {
        case .scanner(_, let problem, let mark, _), .parser(_, let problem, let mark, _), .composer(_, let problem, let mark, _):
            return "line \(mark.line) column \(mark.column): \(problem)"
        case .reader(let problem, let offset, _, _):
            return offset.map { "byte \($0): \(problem)" } ?? problem
        default:
            return "cannot be parsed"
        }
    }

    /// True for `~`, `null` and an empty value.
    static func isNull(_ node: Node) -> Bool {
        guard case .scalar(let scalar) = node, scalar.style == .plain || scalar.style == .any else { return false }
        return ["", "~", "null", "Null", "NULL"].contains(scalar.string)
    }

    /// Letters, digits and `-_.:@`, 1 to 64 of them: safe in Redis keys, metric labels, logs
    /// and command lines.
    public static func isValidName(_ name: String) -> Bool {
        !name.isEmpty && name.count <= 64
            && name.unicodeScalars.allSatisfy { $0.isASCII && (CharacterSet.alphanumerics.contains($0) || "-_.:@".unicodeScalars.contains($0)) }
    }

    /// Reads the fields of one endpoint mapping; every error names the endpoint and field.
    private struct EndpointParser {
        let file: String
        let position: Int
        /// `'name'` once the name is known, `#position` before.
        var label: String
        var pairs: [(key: String, value: Node)] = []
        var warnings: [String] = []

        init(node: Node, position: Int, file: String) throws(EndpointsFileError) {
            self.file = file
            self.position = position
            self.label = "#\(position)"
            guard case .mapping(let mapping) = node else {
                throw error(nil, "expected a mapping of fields (name, url, ...)")
            }
            // Name the endpoint in errors about its other fields as soon as possible.
            if let name = mapping["name"]?.scalar?.string.trimmingCharacters(in: .whitespaces), EndpointsFile.isValidName(name) {
                label = "'\(name)'"
            }
            // YAML merge keys (`<<: *defaults`, or a list of them) supply fields the endpoint
            // does not set itself; Yams leaves them to the reader.
            var merged: [(key: Node, value: Node)] = []
            for (key, value) in mapping where key.scalar?.string == "<<" {
                let sources: [Node]
                if case .sequence(let list) = value { sources = Array(list) } else { sources = [value] }
                for source in sources {
                    guard case .mapping(let fields) = source else { throw error(nil, "'<<' must merge a mapping (an anchor like *defaults)") }
                    merged += fields.map { ($0.key, $0.value) }
                }
            }
            for (key, value) in mapping where key.scalar?.string != "<<" {
                try add(key, value)
            }
            for (key, value) in merged where !pairs.contains(where: { $0.key == key.scalar?.string }) {
                try add(key, value)
            }
        }

        private mutating func add(_ key: Node, _ value: Node) throws(EndpointsFileError) {
            guard case .scalar(let scalar) = key else { throw error(nil, "field names must be plain words") }
            let name = scalar.string
            guard EndpointsFile.fields.contains(name) else {
                throw error(name, "unknown field; expected one of \(EndpointsFile.fields.joined(separator: ", "))")
            }
            guard !pairs.contains(where: { $0.key == name }) else { throw error(name, "given twice") }
            pairs.append((name, value))
        }

        func error(_ field: String?, _ message: String) -> EndpointsFileError {
            EndpointsFileError(file: file, endpoint: label, field: field, message: message)
        }

        func value(_ field: String) -> Node? {
            pairs.first { $0.key == field }?.value
        }

        mutating func endpoint(defaults: EndpointDefaults) throws(EndpointsFileError) -> EndpointSpec {
            guard let nameNode = value("name") else { throw error("name", "missing; every endpoint needs a unique name") }
            let name = try string(nameNode, "name").trimmingCharacters(in: .whitespaces)
            guard EndpointsFile.isValidName(name) else {
                throw error("name", "expected 1 to 64 letters, digits or -_.:@, got '\(name)'")
            }
            label = "'\(name)'"

            var kind = EndpointKind.webhook
            if let node = value("kind") {
                let text = try string(node, "kind")
                guard let parsed = EndpointKind(rawValue: text.lowercased()) else {
                    throw error("kind", "expected webhook, discord or telegram, got '\(text)'")
                }
                kind = parsed
            }
            for (field, kinds) in EndpointsFile.kindFields where value(field) != nil && !kinds.contains(kind) {
                throw error(field, "not used by \(kind.rawValue) endpoints"
                            + (kind == .telegram && field == "url" ? " (they are addressed by bot_token and chat_id)" : ""))
            }

            var url = ""
            var telegram: TelegramTarget?
            var route: EndpointRoute?
            switch kind {
            case .discord where value("url_from") != nil:
                guard value("url") == nil else { throw error("url_from", "give either 'url' or 'url_from', not both") }
                let field = try string(value("url_from")!, "url_from").trimmingCharacters(in: .whitespaces)
                var allowed: [String]?
                if let node = value("allowed_urls") {
                    allowed = try list(node, "allowed_urls").map { (text) throws(EndpointsFileError) in
                        try httpURL(.scalar(.init(text)), "allowed_urls")
                    }
                    guard !allowed!.isEmpty else { throw error("allowed_urls", "empty; give URL prefixes, or remove it for Discord's") }
                }
                guard let parsed = EndpointRoute(field: field, allowedURLs: allowed) else {
                    throw error("url_from", "expected a dotted path like user.admin.discord_webhook, got '\(field)'")
                }
                route = parsed
                url = "event:" + field
            case .webhook, .discord:
                if value("allowed_urls") != nil { throw error("allowed_urls", "only used with url_from") }
                guard let node = value("url") else { throw error("url", "missing") }
                url = try httpURL(node, "url")
                if kind == .discord, !url.lowercased().contains("/api/webhooks/") {
                    warnings.append("\(file): endpoint \(label): url does not look like a Discord webhook (https://discord.com/api/webhooks/...)")
                }
            case .telegram:
                guard let tokenNode = value("bot_token") else { throw error("bot_token", "missing; telegram endpoints need bot_token and chat_id") }
                let token = try string(tokenNode, "bot_token", secret: true)
                guard Self.isBotToken(token) else {
                    throw error("bot_token", "expected the token BotFather gives, like 123456:ABC-DEF (value not shown)")
                }
                let chat: String
                if let fromNode = value("chat_id_from") {
                    guard value("chat_id") == nil else { throw error("chat_id_from", "give either 'chat_id' or 'chat_id_from', not both") }
                    let field = try string(fromNode, "chat_id_from").trimmingCharacters(in: .whitespaces)
                    guard let parsed = EndpointRoute(field: field) else {
                        throw error("chat_id_from", "expected a dotted path like user.admin.telegram_id, got '\(field)'")
                    }
                    route = parsed
                    chat = ""
                } else {
                    guard let chatNode = value("chat_id") else {
                        throw error("chat_id", "missing; telegram endpoints need bot_token and chat_id (or chat_id_from)")
                    }
                    chat = try string(chatNode, "chat_id")
                    guard Self.isChatID(chat) else {
                        throw error("chat_id", "expected a numeric chat ID (negative for groups) or @channelname, got '\(chat)'")
                    }
                }
                let api = try value("api_url").map { (node) throws(EndpointsFileError) in try httpURL(node, "api_url") }
                    ?? TelegramTarget.defaultAPIURL
                guard !api.contains("?"), !api.contains("#") else { throw error("api_url", "must not have a query or fragment") }
                telegram = TelegramTarget(botToken: token, chatID: chat, apiURL: api)
                url = telegram!.sendMessageURL
            }

            var secrets: [String] = []
            if kind == .webhook {
                if value("secret") != nil && value("secrets") != nil {
                    throw error("secrets", "give either 'secret' or 'secrets', not both")
                }
                if let node = value("secret") {
                    secrets = [try string(node, "secret", secret: true)]
                } else if let node = value("secrets") {
                    secrets = try list(node, "secrets", secret: true)
                    guard !secrets.isEmpty else { throw error("secrets", "empty; give at least one secret, the newest first") }
                } else if let secret = defaults.secret, !secret.isEmpty {
                    secrets = [secret]
                }
                for (field, secret) in secrets.map({ (value("secrets") != nil ? "secrets" : "secret", $0) }) {
                    guard !secret.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
                        throw error(field, "a secret must not be blank")
                    }
                    // Marzban mode sends the secret itself as a header value: a line break would
                    // end the header there (and start another).
                    guard !ConfigurationReader.hasLineBreakOrControl(secret) else {
                        throw error(field, "a secret contains a line break or control character")
                    }
                    if secret.hasPrefix("whsec_"), WebhookSigner.standardKey(for: secret) == nil {
                        warnings.append("\(file): endpoint \(label): field '\(field)': a secret starts with whsec_ but the rest is not base64: webhook-signature uses the whole secret as the key")
                    }
                }
            }

            var actions: Set<String>?
            if let node = value("actions") {
                let names = try list(node, "actions")
                for action in names where !EndpointsFile.knownActions.contains(action) {
                    guard !action.isEmpty, !action.contains(where: { $0.isWhitespace }) else {
                        throw error("actions", "expected action names like user_created, got '\(action)'")
                    }
                    warnings.append("\(file): endpoint \(label): field 'actions': '\(action)' is not an action Marzban sends; kept as written")
                }
                actions = Set(names)
            }

            var compat = defaults.compat
            if let node = value("compat") {
                let text = try string(node, "compat")
                guard let mode = CompatMode(rawValue: text.lowercased()) else {
                    throw error("compat", "expected 'standard' or 'marzban', got '\(text)'")
                }
                compat = mode
            }

            var headers: [(name: String, value: String)] = []
            if let node = value("headers") {
                guard case .mapping(let mapping) = node else {
                    throw error("headers", "expected a mapping of header names to values, like {Authorization: \"Bearer x\"}")
                }
                for (key, valueNode) in mapping {
                    let name = try string(key, "headers")
                    guard Self.isHeaderName(name) else { throw error("headers", "'\(name)' is not a valid header name") }
                    guard !EndpointsFile.reservedHeaders.contains(name.lowercased()) else {
                        throw error("headers", "'\(name)' is set by the worker and cannot be replaced")
                    }
                    guard !headers.contains(where: { $0.name.lowercased() == name.lowercased() }) else {
                        throw error("headers", "'\(name)' is given twice")
                    }
                    let text = try string(valueNode, "headers", secret: true)
                    guard !ConfigurationReader.hasLineBreakOrControl(text) else {
                        throw error("headers", "the value of '\(name)' contains a line break or control character")
                    }
                    headers.append((name, text))
                }
            }

            var timeout = defaults.timeout
            if let node = value("timeout") {
                let text = try string(node, "timeout")
                guard let seconds = ConfigurationReader.duration(text), seconds > 0 else {
                    throw error("timeout", "expected a positive number of seconds (or 500ms, 5s, 1m), got '\(text)'")
                }
                timeout = seconds
            }

            var concurrency = defaults.concurrency
            if let node = value("concurrency") {
                let text = try string(node, "concurrency")
                guard let number = Int(text), (1...100_000).contains(number) else {
                    throw error("concurrency", "expected an integer from 1 to 100000, got '\(text)'")
                }
                concurrency = number
            }

            var rate: RateLimit?
            switch kind {
            case .webhook: rate = nil
            case .discord: rate = .discordDefault
            case .telegram: rate = RateLimit.telegramDefault(chatID: telegram?.chatID ?? "")
            }
            if let node = value("rate") {
                let text = try string(node, "rate")
                if ["unlimited", "none", "off"].contains(text.lowercased()) {
                    rate = nil
                } else if let parsed = RateLimit(parsing: text) {
                    rate = parsed
                } else {
                    throw error("rate", "expected N/s or N/m (N from 1 to 1000000) or 'unlimited', got '\(text)'")
                }
            }

            var proxy: String?
            if let node = value("proxy") {
                proxy = try proxyURL(node)
            }

            var notify: [String] = []
            if let node = value("notify") {
                notify = try list(node, "notify")
                for target in notify where !EndpointsFile.isValidName(target) {
                    throw error("notify", "'\(target)' is not an endpoint name")
                }
            }

            var spec = EndpointSpec(name: name, kind: kind, url: url, secrets: secrets, actions: actions, compat: compat,
                                    headers: headers, timeout: timeout, concurrency: concurrency, rate: rate, proxy: proxy,
                                    notify: notify, telegram: telegram, isImplicit: false)
            if let node = value("egress") {
                let text = try string(node, "egress")
                switch text.lowercased() {
                case "private-ok": spec.egressPrivateOK = true
                case "default": break
                default: throw error("egress", "expected private-ok or default, got '\(text)'")
                }
            }
            if let node = value("drop_fields") {
                for text in try list(node, "drop_fields") {
                    guard let path = DroppedFields.path(text) else {
                        throw error("drop_fields", "expected dotted paths like user.admin.discord_webhook, got '\(text)'")
                    }
                    spec.dropFields.append(path)
                }
            }
            spec.route = route
            spec.ordering = try ordering()
            spec.signingKeys = try signingKeys(kind: kind, compat: compat, defaults: defaults)
            return spec
        }

        /// `ordering: per-key` with `order_key` and `order_max_block`; those two without it are
        /// an error (they would silently do nothing).
        func ordering() throws(EndpointsFileError) -> OrderingSpec? {
            guard let node = value("ordering") else {
                for field in ["order_key", "order_max_block"] where value(field) != nil {
                    throw error(field, "only used with 'ordering: per-key'")
                }
                return nil
            }
            let text = try string(node, "ordering").lowercased()
            switch text {
            case "per-key": break
            case "none", "off": return nil
            default: throw error("ordering", "expected 'per-key' (or 'none'), got '\(text)'")
            }
            var ordering = OrderingSpec()
            if let node = value("order_key") {
                let field = try string(node, "order_key")
                guard OrderingSpec.isValidKeyField(field) else {
                    throw error("order_key", "expected the name of a top-level string field of the event, like username, got '\(field)'")
                }
                ordering.key = field
            }
            if let node = value("order_max_block") {
                let text = try string(node, "order_max_block")
                guard let seconds = ConfigurationReader.duration(text), seconds > 0 else {
                    throw error("order_max_block", "expected a positive duration (like 30s, 10m, 1h), got '\(text)'")
                }
                ordering.maxBlock = seconds
            }
            return ordering
        }

        /// `signing_key`: one `whsk_` key or a list (newest first); else WEBHOOK_SIGNING_KEY's.
        /// Only standard-mode webhook endpoints are signed (Marzban's wire has no
        /// `webhook-signature`), so a key on a Marzban-mode endpoint is an error, not ignored.
        func signingKeys(kind: EndpointKind, compat: CompatMode,
                         defaults: EndpointDefaults) throws(EndpointsFileError) -> [AsymmetricSigningKey] {
            guard kind == .webhook else { return [] }
            guard let node = value("signing_key") else { return compat == .standard ? defaults.signingKeys : [] }
            guard compat == .standard else {
                throw error("signing_key", "marzban-mode endpoints carry no webhook-signature; remove it or use compat: standard")
            }
            let texts: [String]
            if case .sequence = node {
                texts = try list(node, "signing_key", secret: true)
                guard !texts.isEmpty else { throw error("signing_key", "empty; give at least one whsk_ key, the newest first") }
            } else {
                texts = [try string(node, "signing_key", secret: true)]
            }
            var keys: [AsymmetricSigningKey] = []
            for (offset, text) in texts.enumerated() {
                do {
                    keys.append(try AsymmetricSigningKey(parsing: text))
                } catch {
                    throw self.error("signing_key", (texts.count > 1 ? "key \(offset + 1): " : "") + error.message)
                }
            }
            return keys
        }

        /// A scalar's text. `secret` keeps the value out of error messages.
        func string(_ node: Node, _ field: String, secret: Bool = false) throws(EndpointsFileError) -> String {
            guard case .scalar(let scalar) = node else {
                throw error(field, "expected a single value, got a \(node.mapping != nil ? "mapping" : "list")")
            }
            guard !EndpointsFile.isNull(node) else { throw error(field, "empty") }
            return scalar.string
        }

        /// A list of scalars (`[a, b]` or one per line).
        func list(_ node: Node, _ field: String, secret: Bool = false) throws(EndpointsFileError) -> [String] {
            guard case .sequence(let sequence) = node else {
                if EndpointsFile.isNull(node) { return [] }
                throw error(field, "expected a list, like [a, b]")
            }
            var out: [String] = []
            for item in sequence {
                out.append(try string(item, field, secret: secret).trimmingCharacters(in: secret ? [] : .whitespaces))
            }
            return out
        }

        func httpURL(_ node: Node, _ field: String) throws(EndpointsFileError) -> String {
            let text = try string(node, field).trimmingCharacters(in: .whitespaces)
            do {
                return try ConfigurationReader.httpURL(text, variable: field)
            } catch {
                throw self.error(field, error.message.replacingOccurrences(of: ConfigurationReader.redacted(text), with: URLRedaction.redact(text)))
            }
        }

        func proxyURL(_ node: Node) throws(EndpointsFileError) -> String {
            let text = try string(node, "proxy").trimmingCharacters(in: .whitespaces)
            let shown = URLRedaction.redact(text)
            guard let schemeEnd = text.range(of: "://"),
                  EndpointsFile.proxySchemes.contains(text[..<schemeEnd.lowerBound].lowercased()) else {
                throw error("proxy", "expected an http://, https://, socks5:// or socks5h:// URL, got '\(shown)'")
            }
            guard !text.unicodeScalars.contains(where: { $0.properties.isWhitespace || $0.value < 0x20 || $0.value == 0x7F }) else {
                throw error("proxy", "URL contains whitespace or control characters: '\(shown)'")
            }
            guard URLAuthority.hasHost(text) else { throw error("proxy", "URL has no host: '\(shown)'") }
            return text
        }

        /// `<digits>:<letters, digits, - and _>`: the form BotFather hands out. The colon also
        /// lets ``URLRedaction`` find the token in a URL.
        static func isBotToken(_ token: String) -> Bool {
            let parts = token.split(separator: ":", omittingEmptySubsequences: false)
            guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else { return false }
            return parts[0].allSatisfy { $0.isASCII && $0.isNumber }
                && parts[1].allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") }
        }

        /// `123`, `-1001234567890` or `@channelname`.
        static func isChatID(_ chat: String) -> Bool {
            if chat.hasPrefix("@") {
                let rest = chat.dropFirst()
                return !rest.isEmpty && rest.count <= 64 && rest.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") }
            }
            let digits = chat.hasPrefix("-") ? chat.dropFirst() : Substring(chat)
            return !digits.isEmpty && digits.count <= 20 && digits.allSatisfy { $0.isASCII && $0.isNumber }
        }

        /// An HTTP token (RFC 9110): letters, digits and ``!#$%&'*+-.^_`|~``.
        static func isHeaderName(_ name: String) -> Bool {
            !name.isEmpty && name.unicodeScalars.allSatisfy {
                $0.isASCII && (CharacterSet.alphanumerics.contains($0) || "!#$%&'*+-.^_`|~".unicodeScalars.contains($0))
            }
        }
    }
}
