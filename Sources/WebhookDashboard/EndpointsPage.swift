import WebhookRedis

/// Every configured endpoint with its fleet-wide state and the last hour's outcomes.
public struct EndpointsPage: Sendable {
    public struct Row: Sendable {
        public var name: String
        public var kind: String
        /// Already redacted (`Target.redactedURL`): the page never sees the real URL.
        public var redactedURL: String
        /// Nil when Redis could not be read.
        public var status: EndpointStatus?
        public var history: EndpointHistory?
        /// p95 latency in ms of the last hour's attempts, from the attempt log; nil: none known.
        public var p95: Int?

        public init(name: String, kind: String, redactedURL: String, status: EndpointStatus?, history: EndpointHistory?, p95: Int?) {
            self.name = name
            self.kind = kind
            self.redactedURL = redactedURL
            self.status = status
            self.history = history
            self.p95 = p95
        }
    }

    public var rows: [Row]
    public var readOnly: Bool
    public var notice: String?
    public var problem: String?

    public init(rows: [Row], readOnly: Bool, notice: String? = nil, problem: String? = nil) {
        self.rows = rows
        self.readOnly = readOnly
        self.notice = notice
        self.problem = problem
    }

    /// The 95th percentile (nearest rank) of `values`; nil when empty.
    public static func p95(_ values: [Int]) -> Int? {
        guard !values.isEmpty else { return nil }
        let sorted = values.sorted()
        let rank = Int((0.95 * Double(sorted.count)).rounded(.up))
        return sorted[max(0, min(sorted.count - 1, rank - 1))]
    }

    public func render(_ layout: Layout) -> HTML {
        let body = rows.map { row -> HTML in
            let status = row.status
            var since: HTML = .empty
            switch status?.state {
            case .open(let at)?, .paused(let at)?:
                since = " <span class=\"muted\">for \(Format.age((status?.readAt ?? at) - at))</span>"
            default: break
            }
            let state: HTML = status.map { Format.state($0.stateName) + since } ?? "<span class=\"muted\">unknown</span>"
            let isPaused: Bool = { if case .paused? = status?.state { return true }; return false }()
            let action: HTML = readOnly ? .empty : """
                <form class="inline" method="post" action="/endpoints/\(isPaused ? "resume" : "pause")">\
                <input type="hidden" name="\(DashboardAuth.csrfField)" value="\(layout.csrf)">\
                <input type="hidden" name="name" value="\(row.name)">\
                <button type="submit">\(isPaused ? "Resume" : "Pause")</button></form>
                """
            let spark = row.history.map { history in
                Charts.sparkline(zip(history.successes, history.failures).map { $0 + $1 }, label: "attempts per minute, last hour")
            } ?? .empty
            return """
                <tr data-endpoint="\(row.name)"><td><strong>\(row.name)</strong></td><td>\(row.kind)</td><td class="mono">\(row.redactedURL)</td>\
                <td class="state-cell">\(state)</td><td>\(status?.lastError)\
                \(status?.lastErrorAt.map { " <span class=\"muted\">(\(Format.age((status?.readAt ?? $0) - $0)) ago)</span>" as HTML } ?? .empty)</td>\
                <td class="num">\(status.map { String($0.recentSuccesses) })</td><td class="num">\(status.map { String($0.recentFailures) })</td>\
                <td class="num">\(row.p95.map { "\($0) ms" })</td><td>\(spark)</td><td>\(action)</td></tr>
                """
        }
        return layout.page(title: "Endpoints", section: .endpoints, refresh: 10, """
            <h1>Endpoints</h1>
            \(notice.map { "<div class=\"notice\">\($0)</div>" as HTML } ?? .empty)\
            \(problem.map { "<div class=\"error\">\($0)</div>" as HTML } ?? .empty)
            <table><tr><th>name</th><th>kind</th><th>URL</th><th>state</th><th>last error</th><th>ok (1 h)</th><th>failed (1 h)</th>\
            <th>p95 (1 h)</th><th>attempts per minute</th><th></th></tr>\(body)</table>
            """)
    }
}
