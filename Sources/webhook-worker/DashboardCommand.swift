import ArgumentParser
import Logging
import ServiceLifecycle
import WebhookCore
import WebhookDashboard

struct DashboardCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dashboard",
        abstract: "Serve the web dashboard: queue, endpoints, deliveries, event timelines, dead letters.",
        discussion: """
            Open http://<host>:<port>/ and enter DASHBOARD_TOKEN once. Also serves GET /livez and GET /readyz. \
            DASHBOARD_READ_ONLY=true hides and refuses every change.
            """)

    @OptionGroup var options: ConfigOptions

    @Option(help: "HOST:PORT to listen on (DASHBOARD_LISTEN, default 127.0.0.1:8081).")
    var listen: String?

    @Flag(help: "Run without DASHBOARD_TOKEN: anyone who reaches the dashboard can use it (DASHBOARD_OPEN=true).")
    var open = false

    func run() async throws {
        var extra: [String: String] = [:]
        extra["DASHBOARD_LISTEN"] = listen
        if open { extra["DASHBOARD_OPEN"] = "true" }
        let configuration = try options.load(extra: extra, label: "webhook-dashboard", configurationLogLevel: .info,
                                             only: DashboardConfiguration.variables)
        let logger = makeLogger(configuration, label: "webhook-dashboard", warnings: false)
        if (configuration.dashboard.token ?? "").isEmpty && !configuration.dashboard.isOpen {
            logger.critical("""
                configuration: DASHBOARD_TOKEN: not set; the dashboard would let anyone see events and replay or purge dead letters. \
                Set DASHBOARD_TOKEN, or run it open on purpose with --open or DASHBOARD_OPEN=true
                """)
            throw ExitCode.failure
        }
        let server = DashboardServer(configuration: configuration, logger: logger)
        try await serve([server], logger: logger)
    }
}
