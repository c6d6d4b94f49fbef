import WebhookCore

/// The dead list, newest first, with replay and purge behind a confirmation page.
public struct DeadLettersPage: Sendable {
    public struct Row: Sendable {
        /// Nil: the entry could not be decoded (shown as such; replay cannot help it).
        public var letter: DeadLetter?
        /// The endpoint's name, or its redacted URL for letters of implicit endpoints.
        public var endpoint: String

        public init(letter: DeadLetter?, endpoint: String) {
            self.letter = letter
            self.endpoint = endpoint
        }
    }

    public var rows: [Row]
    /// Entries in the dead list (the page shows at most `rows.count`).
    public var total: Int
    public var readOnly: Bool
    public var notice: String?
    public var problem: String?

    public init(rows: [Row], total: Int, readOnly: Bool, notice: String? = nil, problem: String? = nil) {
        self.rows = rows
        self.total = total
        self.readOnly = readOnly
        self.notice = notice
        self.problem = problem
    }

    public func render(_ layout: Layout) -> HTML {
        let endpoints = Array(Set(rows.compactMap { $0.letter?.endpointName })).sorted()
        let body = rows.map { row -> HTML in
            guard let letter = row.letter else {
                return "<tr><td colspan=\"7\" class=\"muted\">unreadable entry</td></tr>"
            }
            let replay: HTML = readOnly || letter.id.isEmpty ? .empty
                : "<a class=\"button\" href=\"/dead/confirm?op=replay&amp;id=\(HTML.queryComponent(letter.id))\">Replay</a>"
            let timeline: HTML = letter.webhookID.map { "<a href=\"/timeline?id=\(HTML.queryComponent($0))\">timeline</a>" as HTML } ?? .empty
            return """
                <tr data-dead-id="\(letter.id)"><td class="mono">\(letter.id)</td><td>\(Format.time(letter.failedAt))</td><td>\(row.endpoint)</td>\
                <td class="num">\(letter.attempts)</td><td>\(letter.reason)</td>\
                <td><pre>\(String(decoding: letter.payload.prefix(300), as: UTF8.self))</pre></td><td>\(replay) \(timeline)</td></tr>
                """
        }
        let bulk: HTML = readOnly ? .empty : """
            <p>\(HTML.join(endpoints.map { "<a class=\"button\" href=\"/dead/confirm?op=replay-endpoint&amp;endpoint=\(HTML.queryComponent($0))\">Replay all of \($0)</a> " as HTML }))\
            <a class="button danger" href="/dead/confirm?op=purge">Purge all</a></p>
            """
        return layout.page(title: "Dead letters", section: .dead, refresh: 30, """
            <h1>Dead letters</h1>
            \(notice.map { "<div class=\"notice\">\($0)</div>" as HTML } ?? .empty)\
            \(problem.map { "<div class=\"error\">\($0)</div>" as HTML } ?? .empty)
            <p class="muted">\(total) in the dead list\(total > rows.count ? (", newest \(rows.count) shown" as HTML) : .empty).</p>
            \(rows.isEmpty ? .empty : bulk)
            <table><tr><th>id</th><th>failed at</th><th>endpoint</th><th>tries</th><th>reason</th><th>payload</th><th></th></tr>\(body)</table>
            """)
    }
}

/// "Are you sure?": the one step between a dead-letter button and its POST, so a stray click
/// changes nothing. Not refreshed.
public struct ConfirmPage: Sendable {
    public enum Operation: Sendable, Equatable {
        case replay(id: String)
        case replayEndpoint(String)
        case purge
    }

    public var operation: Operation
    /// How many dead letters it touches, as far as known now.
    public var count: Int

    public init(operation: Operation, count: Int) {
        self.operation = operation
        self.count = count
    }

    public func render(_ layout: Layout) -> HTML {
        let question: HTML, action: String, fields: HTML
        switch operation {
        case .replay(let id):
            question = "Replay dead letter <code>\(id)</code> to its endpoint, with the same webhook-id?"
            action = "/dead/replay"
            fields = "<input type=\"hidden\" name=\"id\" value=\"\(id)\">"
        case .replayEndpoint(let endpoint):
            question = "Replay all \(count) dead letters of <strong>\(endpoint)</strong>?"
            action = "/dead/replay"
            fields = "<input type=\"hidden\" name=\"endpoint\" value=\"\(endpoint)\">"
        case .purge:
            question = "Delete all \(count) dead letters? This cannot be undone."
            action = "/dead/purge"
            fields = .empty
        }
        return layout.page(title: "Confirm", section: .dead, refresh: nil, """
            <h1>Confirm</h1><p>\(question)</p>
            <form method="post" action="\(action)"><input type="hidden" name="\(DashboardAuth.csrfField)" value="\(layout.csrf)">\(fields)\
            <button type="submit" id="confirm" class="danger">Confirm</button> <a href="/dead">Cancel</a></form>
            """)
    }
}

/// The token form: what every page answers (401) to a browser without the session cookie.
public struct TokenPage: Sendable {
    public var wrongToken: Bool

    public init(wrongToken: Bool) { self.wrongToken = wrongToken }

    public func render() -> HTML {
        Layout.document(title: "Sign in", refresh: nil, """
            <main><h1>webhook-worker dashboard</h1>
            \(wrongToken ? "<div class=\"error\">That is not the dashboard's token.</div>" as HTML : .empty)
            <form method="post" action="/login"><label>Token (DASHBOARD_TOKEN) <input type="password" name="token" id="token" autofocus \
            autocomplete="current-password"></label> <button type="submit" id="sign-in">Sign in</button></form></main>
            """)
    }
}
