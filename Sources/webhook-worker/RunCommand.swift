import ArgumentParser
import Logging
import ServiceLifecycle
import WebhookCore
import WebhookServer
import WebhookWorker

struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run one worker: take events from Redis and deliver them to every endpoint.")

    @OptionGroup var options: ConfigOptions

    @Option(help: "Endpoints, comma-separated (WEBHOOK_ADDRESS).")
    var address: String?

    @Option(help: "Seconds between polls of the delayed set (JOB_SEND_NOTIFICATIONS_INTERVAL).")
    var interval: String?

    @Option(help: "Seconds per request (WEBHOOK_TIMEOUT).")
    var timeout: String?

    @Option(help: "Concurrent requests (WEBHOOK_CONCURRENCY).")
    var concurrency: String?

    @Option(help: "Wire format: standard or marzban (WEBHOOK_COMPAT).")
    var compat: String?

    @Option(help: "Serve /metrics, /healthz, /livez and /readyz on HOST:PORT (WEBHOOK_METRICS_LISTEN).")
    var metricsListen: String?

    func run() async throws {
        var extra: [String: String] = [:]
        extra["WEBHOOK_ADDRESS"] = address
        extra["JOB_SEND_NOTIFICATIONS_INTERVAL"] = interval
        extra["WEBHOOK_TIMEOUT"] = timeout
        extra["WEBHOOK_CONCURRENCY"] = concurrency
        extra["WEBHOOK_COMPAT"] = compat
        extra["WEBHOOK_METRICS_LISTEN"] = metricsListen
        let configuration = try options.load(extra: extra, configurationLogLevel: .info)
        let logger = makeLogger(configuration)

        var services: [any Service] = []
        let registry = configuration.worker.metricsListen.map { _ in Telemetry.bootstrap() }
        let runtime: WorkerRuntime
        do {
            runtime = try WorkerRuntime(configuration: configuration, logger: logger)
        } catch let error as ConfigurationError {
            throw ValidationError("configuration: \(error)")
        }
        if let listen = configuration.worker.metricsListen, let registry {
            let health = HealthProbe(redis: configuration.redis.url, prefix: configuration.redis.keyPrefix,
                                     leaseSeconds: configuration.worker.lease, liveness: runtime.liveness,
                                     endpoints: configuration.targets.map(\.name),
                                     orderedEndpoints: configuration.targets.filter { $0.spec?.ordering != nil }.map { ($0.name, $0.id) },
                                     logger: logger)
            services.append(MetricsServer(listen: listen, registry: registry, health: health, logger: logger))
        }
        services.append(WorkerService(runtime: runtime))
        try await serve(services, logger: logger)
    }
}
