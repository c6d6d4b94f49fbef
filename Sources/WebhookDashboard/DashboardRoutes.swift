import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import NIOPosix
import WebhookCore

/// The dashboard's routes: who may see what (``DashboardAuth``), what each page reads, and the
/// POSTs that change state. Pages are rendered off the event loop (the store blocks on Redis).
struct DashboardRoutes: Sendable {
    let auth: DashboardAuth
    let store: DashboardStore
    let readOnly: Bool
    let logger: Logger

    var layout: Layout { Layout(signOut: !auth.isOpen, csrf: auth.csrfToken) }

    func add(to router: Router<BasicRequestContext>) {
        router.get("assets/dashboard.css") { _, _ -> Response in
            Response(status: .ok, headers: [.contentType: "text/css; charset=utf-8", .cacheControl: "max-age=300"],
                     body: .init(byteBuffer: ByteBuffer(string: Stylesheet.css)))
        }
        router.get("login") { request, _ -> Response in
            if auth.isSignedIn(cookieHeader: request.headers[.cookie]) { return Self.redirect("/") }
            return Self.html(.ok, TokenPage(wrongToken: false).render())
        }
        router.post("login") { request, _ -> Response in
            let form = try await Self.form(request)
            guard auth.acceptsToken(form["token"] ?? "") else {
                logger.warning("dashboard: a sign-in with a wrong token")
                return Self.html(.unauthorized, TokenPage(wrongToken: true).render())
            }
            var response = Self.redirect("/")
            if !auth.isOpen { response.headers[.setCookie] = auth.signInCookie }
            return response
        }
        router.post("logout") { request, _ -> Response in
            let form = try await Self.form(request)
            guard auth.acceptsCSRF(form[DashboardAuth.csrfField]) else { return Self.refused("missing or wrong CSRF token") }
            var response = Self.redirect("/login")
            response.headers[.setCookie] = DashboardAuth.signOutCookie
            return response
        }

        page(router, "/") { _ in store.overview().render(layout) }
        page(router, "endpoints") { request in
            var page = store.endpoints()
            page.notice = notice(request)
            return page.render(layout)
        }
        page(router, "deliveries") { request in
            let query = request.uri.queryParameters
            var filters = DeliveriesPage.Filters()
            filters.endpoint = query.get("endpoint") ?? ""
            filters.user = query.get("user") ?? ""
            filters.id = query.get("id") ?? ""
            filters.action = query.get("action") ?? ""
            filters.outcome = query.get("outcome") ?? ""
            filters.since = query.get("since") ?? ""
            filters.limit = query.get("limit").flatMap { Int($0) } ?? 100
            return store.deliveries(filters).render(layout)
        }
        page(router, "timeline") { request in
            store.timeline(request.uri.queryParameters.get("id") ?? "").render(layout)
        }
        page(router, "dead") { request in
            var page = store.deadLetters()
            page.notice = notice(request)
            return page.render(layout)
        }
        page(router, "dead/confirm") { request in
            let query = request.uri.queryParameters
            let operation: ConfirmPage.Operation
            switch query.get("op") {
            case "replay": operation = .replay(id: query.get("id") ?? "")
            case "replay-endpoint": operation = .replayEndpoint(query.get("endpoint") ?? "")
            case "purge": operation = .purge
            default: return Self.message("Unknown operation.", layout)
            }
            if readOnly { return Self.message("The dashboard is read-only (DASHBOARD_READ_ONLY).", layout) }
            return ConfirmPage(operation: operation, count: (try? store.count(operation)) ?? 0).render(layout)
        }

        action(router, "endpoints/pause") { form in
            let name = form["name"] ?? ""
            return try store.setPaused(true, endpoint: name) ? "/endpoints?notice=paused&name=\(HTML.queryComponent(name))" : nil
        }
        action(router, "endpoints/resume") { form in
            let name = form["name"] ?? ""
            return try store.setPaused(false, endpoint: name) ? "/endpoints?notice=resumed&name=\(HTML.queryComponent(name))" : nil
        }
        action(router, "dead/replay") { form in
            let id = form["id"].flatMap { $0.isEmpty ? nil : $0 }, endpoint = form["endpoint"].flatMap { $0.isEmpty ? nil : $0 }
            guard id != nil || endpoint != nil else { return nil }
            let count = try store.replay(id: id, endpoint: endpoint)
            return "/dead?notice=replayed&n=\(count)"
        }
        action(router, "dead/purge") { _ in
            "/dead?notice=purged&n=\(try store.purge())"
        }
    }

    /// A notice for the page after an action: fixed texts, with a count or a configured
    /// endpoint's name, never text from the URL as such.
    func notice(_ request: Request) -> String? {
        let query = request.uri.queryParameters
        let count = query.get("n").flatMap { Int($0) } ?? 0
        let name = query.get("name").flatMap { name in store.targets.contains { $0.name == name } ? name : nil }
        switch query.get("notice") {
        case "paused": return name.map { "Paused \($0)." }
        case "resumed": return name.map { "Resumed \($0)." }
        case "replayed": return "Replayed \(count) dead letter\(count == 1 ? "" : "s")."
        case "purged": return "Purged \(count) dead letter\(count == 1 ? "" : "s")."
        default: return nil
        }
    }

    /// A signed-in GET page, rendered on the thread pool.
    func page(_ router: Router<BasicRequestContext>, _ path: RouterPath,
              _ render: @escaping @Sendable (Request) throws -> HTML) {
        router.get(path) { request, _ -> Response in
            guard auth.isSignedIn(cookieHeader: request.headers[.cookie]) else { return Self.signInRequired() }
            let body = try await NIOThreadPool.singleton.runIfActive { try render(request) }
            return Self.html(.ok, body)
        }
    }

    /// A state-changing POST: signed in, the CSRF token, not read-only; then `perform` on the
    /// thread pool, which returns where to go next (303), or nil for a bad request.
    func action(_ router: Router<BasicRequestContext>, _ path: RouterPath,
                _ perform: @escaping @Sendable ([String: String]) throws -> String?) {
        let logger = self.logger
        router.post(path) { request, _ -> Response in
            guard auth.isSignedIn(cookieHeader: request.headers[.cookie]) else { return Self.signInRequired() }
            let form = try await Self.form(request)
            guard auth.acceptsCSRF(form[DashboardAuth.csrfField]) else { return Self.refused("missing or wrong CSRF token") }
            guard !readOnly else { return Self.refused("the dashboard is read-only (DASHBOARD_READ_ONLY)") }
            do {
                guard let next = try await NIOThreadPool.singleton.runIfActive({ try perform(form) }) else {
                    return Self.plain(.badRequest, "bad request: unknown endpoint or dead letter\n")
                }
                logger.info("dashboard action", metadata: ["action": "\(path)"])
                return Self.redirect(next)
            } catch {
                return Self.plain(.serviceUnavailable, "redis: \(error)\n")
            }
        }
    }

    // MARK: Responses

    /// Headers every HTML answer carries: no script may run, nothing is cached, no framing.
    static let securityHeaders: HTTPFields = [
        HTTPField.Name("Content-Security-Policy")!: "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        HTTPField.Name("X-Content-Type-Options")!: "nosniff",
        .cacheControl: "no-store",
        HTTPField.Name("Referrer-Policy")!: "no-referrer",
    ]

    static func html(_ status: HTTPResponse.Status, _ body: HTML) -> Response {
        var headers = securityHeaders
        headers[.contentType] = "text/html; charset=utf-8"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: body.text)))
    }

    static func plain(_ status: HTTPResponse.Status, _ text: String) -> Response {
        var headers = securityHeaders
        headers[.contentType] = "text/plain; charset=utf-8"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    static func signInRequired() -> Response { html(.unauthorized, TokenPage(wrongToken: false).render()) }

    static func refused(_ why: String) -> Response { plain(.forbidden, "refused: \(why)\n") }

    static func redirect(_ location: String) -> Response {
        var headers = securityHeaders
        headers[.location] = location
        return Response(status: .seeOther, headers: headers)
    }

    static func message(_ text: String, _ layout: Layout) -> HTML {
        layout.page(title: "Dashboard", section: nil, refresh: nil, "<p>\(text)</p><p><a href=\"/dead\">Back</a></p>")
    }

    /// An `application/x-www-form-urlencoded` body, at most ``DashboardServer/maxFormBytes``.
    static func form(_ request: Request) async throws -> [String: String] {
        let buffer = try await request.body.collect(upTo: DashboardServer.maxFormBytes)
        return parseForm(String(buffer: buffer))
    }

    /// `a=1&b=x+y%21` as a map (the last of repeated names wins).
    static func parseForm(_ text: String) -> [String: String] {
        var fields: [String: String] = [:]
        for pair in text.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            func decode(_ part: Substring) -> String {
                part.replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? String(part)
            }
            fields[decode(parts[0])] = parts.count > 1 ? decode(parts[1]) : ""
        }
        return fields
    }
}
