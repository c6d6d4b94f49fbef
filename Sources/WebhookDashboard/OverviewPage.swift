import WebhookRedis

/// The overview: depths, the last hour's deliveries per minute, the workers and Redis.
public struct OverviewPage: Sendable {
    public var depths: QueueDepths
    public var fleet: FleetSnapshot
    /// Every endpoint's minutes, summed (oldest first, 60 of them).
    public var successes: [Int]
    public var failures: [Int]
    /// Why a part could not be read (Redis down), shown instead of hiding the page.
    public var problem: String?

    public init(depths: QueueDepths, fleet: FleetSnapshot, successes: [Int], failures: [Int], problem: String? = nil) {
        self.depths = depths
        self.fleet = fleet
        self.successes = successes
        self.failures = failures
        self.problem = problem
    }

    /// Sums endpoint histories minute by minute.
    public static func sum(_ histories: [EndpointHistory]) -> (successes: [Int], failures: [Int]) {
        var successes = Array(repeating: 0, count: 60), failures = Array(repeating: 0, count: 60)
        for history in histories {
            for index in 0..<60 {
                successes[index] += history.successes[index]
                failures[index] += history.failures[index]
            }
        }
        return (successes, failures)
    }

    public func render(_ layout: Layout) -> HTML {
        func card(_ label: String, _ value: Int, id: String) -> HTML {
            "<div class=\"card\" id=\"\(id)\"><div class=\"value\">\(value)</div><div class=\"label\">\(label)</div></div>"
        }
        let workers = fleet.workers.map { worker -> HTML in
            "<tr><td class=\"mono\">\(worker.id)</td><td class=\"num\">\(Format.age(worker.heartbeatAge))</td><td>\(Format.state(worker.isLive ? "ok" : "dead"))</td></tr>"
        }
        let memory = fleet.usedMemory.map { used in
            Format.bytes(used) + ((fleet.maxMemory ?? 0) > 0 ? " of \(Format.bytes(fleet.maxMemory!))" : " (no maxmemory)")
        } ?? "unknown"
        let total = successes.reduce(0, +), failed = failures.reduce(0, +)
        return layout.page(title: "Overview", section: .overview, refresh: 10, """
            <h1>Overview</h1>
            \(problem.map { "<div class=\"error\">\($0)</div>" as HTML } ?? .empty)
            <div class="cards">\(card("queued", depths.queue, id: "depth-queue"))\(card("delayed", depths.delayed, id: "depth-delayed"))\
            \(card("in flight", depths.processing, id: "depth-processing"))\(card("dead", depths.dead, id: "depth-dead"))\
            \(card("live workers", depths.workers.count, id: "workers-live"))</div>
            <h2>Deliveries per minute, last hour</h2>
            <p class="muted">\(total) delivered, \(failed) failed (all endpoints; green delivered, red failed)</p>
            \(Charts.minuteBars(successes: successes, failures: failures))
            <h2>Workers</h2>
            <table><tr><th>worker</th><th>heartbeat age</th><th>state</th></tr>\
            \(workers.isEmpty ? "<tr><td colspan=\"3\" class=\"muted\">no worker registered</td></tr>" : HTML.join(workers))</table>
            <h2>Redis</h2>
            <table><tr><th>role</th><td>\(fleet.role ?? "unknown")</td></tr><tr><th>memory</th><td>\(memory)</td></tr>\
            <tr><th>time</th><td>\(Format.time(fleet.now))</td></tr></table>
            """)
    }
}
