import WebhookCore

extension AttemptRecord {
    /// The record's time in Unix seconds, as the pages' formatters take it.
    var seconds: Double { Double(time) / 1000 }
}

/// The attempt log, newest first, with the filters of `webhook-worker log`.
public struct DeliveriesPage: Sendable {
    /// The filters as typed (shown back in the form).
    public struct Filters: Sendable, Equatable {
        public var endpoint = "", user = "", id = "", action = "", outcome = "", since = "", limit = 100

        public init() {}
    }

    public static let outcomes = AttemptOutcome.allCases.map(\.rawValue)

    public var filters: Filters
    public var rows: [AttemptRecord]
    public var endpoints: [String]
    public var problem: String?

    public init(filters: Filters, rows: [AttemptRecord], endpoints: [String], problem: String? = nil) {
        self.filters = filters
        self.rows = rows
        self.endpoints = endpoints
        self.problem = problem
    }

    public func render(_ layout: Layout) -> HTML {
        func select(_ name: String, _ options: [String], _ chosen: String) -> HTML {
            let items = ([""] + options).map { option -> HTML in
                "<option value=\"\(option)\"\(option == chosen ? (" selected" as HTML) : .empty)>\(option.isEmpty ? "any" : option)</option>"
            }
            return "<label>\(name)<select name=\"\(name)\">\(items)</select></label>"
        }
        func input(_ name: String, _ value: String, _ placeholder: String) -> HTML {
            "<label>\(name)<input name=\"\(name)\" value=\"\(value)\" placeholder=\"\(placeholder)\"></label>"
        }
        let form: HTML = """
            <form class="filters" method="get" action="/deliveries">\(select("endpoint", endpoints, filters.endpoint))\
            \(input("user", filters.user, "username"))\(input("id", filters.id, "webhook-id"))\(input("action", filters.action, "user_created"))\
            \(select("outcome", Self.outcomes, filters.outcome))\(input("since", filters.since, "10m"))\
            <label>limit<input name="limit" value="\(filters.limit)" size="5"></label><button type="submit">Filter</button></form>
            """
        let body = rows.map { row -> HTML in
            """
            <tr class="attempt"><td>\(Format.time(row.seconds))</td><td>\(row.endpoint)</td><td>\(row.action)</td><td>\(row.user)</td>\
            <td class="num">\(row.attempt)</td><td class="outcome">\(Format.state(row.outcome.rawValue))</td><td class="num">\(row.status.map(String.init))</td>\
            <td class="num">\(row.latencyMs.map { "\($0) ms" })</td><td>\(row.errorClass)</td>\
            <td><a class="timeline mono" href="/timeline?id=\(HTML.queryComponent(row.webhookID))">\(row.webhookID)</a></td></tr>
            """
        }
        return layout.page(title: "Deliveries", section: .deliveries, refresh: 15, """
            <h1>Deliveries</h1>
            \(problem.map { "<div class=\"error\">\($0)</div>" as HTML } ?? .empty)\(form)
            <table><tr><th>time</th><th>endpoint</th><th>action</th><th>user</th><th>try</th><th>outcome</th><th>status</th>\
            <th>latency</th><th>error</th><th>webhook-id (timeline)</th></tr>\
            \(rows.isEmpty ? "<tr><td colspan=\"10\" class=\"muted\">no attempt matches</td></tr>" : HTML.join(body))</table>
            """)
    }
}

/// Everything that happened to one event: every attempt at every endpoint, oldest first, and
/// the tries still due.
public struct TimelinePage: Sendable {
    /// A try waiting in the delayed set.
    public struct Pending: Sendable, Equatable {
        public var endpoint: String
        /// Unix seconds, Redis's clock.
        public var due: Double
        /// Tries made so far.
        public var tries: Int

        public init(endpoint: String, due: Double, tries: Int) {
            self.endpoint = endpoint
            self.due = due
            self.tries = tries
        }
    }

    public var webhookID: String
    /// Oldest first.
    public var attempts: [AttemptRecord]
    public var pending: [Pending]
    /// Redis's clock, for "due in".
    public var now: Double
    public var problem: String?

    public init(webhookID: String, attempts: [AttemptRecord], pending: [Pending], now: Double, problem: String? = nil) {
        self.webhookID = webhookID
        self.attempts = attempts
        self.pending = pending
        self.now = now
        self.problem = problem
    }

    public func render(_ layout: Layout) -> HTML {
        let first = attempts.first
        let rows = attempts.map { row -> HTML in
            """
            <tr class="attempt"><td>\(Format.time(row.seconds))</td><td>\(row.endpoint)</td><td class="num">\(row.attempt)</td>\
            <td class="outcome">\(Format.state(row.outcome.rawValue))</td><td class="num">\(row.status.map(String.init))</td>\
            <td class="num">\(row.latencyMs.map { "\($0) ms" })</td><td>\(row.errorClass)</td><td><pre>\(row.response)</pre></td></tr>
            """
        }
        let due = pending.map { item -> HTML in
            "<tr class=\"pending\"><td>\(item.endpoint)</td><td>\(Format.time(item.due))</td><td>in \(Format.age(item.due - now))</td><td class=\"num\">\(item.tries)</td></tr>"
        }
        return layout.page(title: "Timeline", section: nil, refresh: 15, """
            <h1>Event <code>\(webhookID)</code></h1>
            \(problem.map { "<div class=\"error\">\($0)</div>" as HTML } ?? .empty)
            <p>\(first.map { "<strong>\($0.action)</strong> for <strong>\($0.user)</strong>" as HTML } ?? "<span class=\"muted\">no attempt recorded for this id</span>")</p>
            <h2>Attempts</h2>
            <table><tr><th>time</th><th>endpoint</th><th>try</th><th>outcome</th><th>status</th><th>latency</th><th>error</th>\
            <th>response (excerpt)</th></tr>\(rows)</table>
            \(due.isEmpty ? .empty : "<h2>Next tries</h2><table><tr><th>endpoint</th><th>due</th><th></th><th>tries so far</th></tr>\(due)</table>" as HTML)
            """)
    }
}
