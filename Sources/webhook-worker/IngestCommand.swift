import ArgumentParser
import Logging
import ServiceLifecycle
import WebhookCore
import WebhookServer

struct IngestCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ingest",
        abstract: "Serve the Marzban bridge: POST /events enqueues what a Marzban panel sends.",
        discussion: """
            Point Marzban's WEBHOOK_ADDRESS at http://<host>:<port>/events and set its \
            WEBHOOK_SECRET to INGEST_SECRET. Also serves GET /healthz, GET /livez, GET /readyz and GET /metrics.
            """)

    @OptionGroup var options: ConfigOptions

    @Option(help: "HOST:PORT to listen on (INGEST_LISTEN, default 0.0.0.0:8080).")
    var listen: String?

    @Flag(help: "Run without INGEST_SECRET: anyone who reaches the bridge can enqueue (INGEST_OPEN=true).")
    var open = false

    func run() async throws {
        var extra: [String: String] = [:]
        extra["INGEST_LISTEN"] = listen
        if open { extra["INGEST_OPEN"] = "true" }
        // The bridge often shares a .env with workers: it logs only what applies to it.
        let configuration = try options.load(extra: extra, label: "webhook-ingest", configurationLogLevel: .info,
                                             only: BridgeConfiguration.variables)
        let logger = makeLogger(configuration, label: "webhook-ingest", warnings: false)
        if (configuration.bridge.secret ?? "").isEmpty && !configuration.bridge.isOpen {
            logger.critical("""
                configuration: INGEST_SECRET: not set; the bridge would accept events from anyone. \
                Set INGEST_SECRET (and the same value as WEBHOOK_SECRET in Marzban), or run it open on purpose with --open or INGEST_OPEN=true
                """)
            throw ExitCode.failure
        }
        let registry = Telemetry.bootstrap()
        let server = IngestServer(configuration: configuration, registry: registry, logger: logger)
        try await serve([server], logger: logger)
    }
}
