import Hummingbird
import Logging
import NIOCore
import Prometheus
import ServiceLifecycle
import WebhookCore

/// The Marzban bridge (`webhook-worker ingest`): a `Service` that takes Marzban's own webhook
/// POSTs on `POST /events` and enqueues their events, plus `GET /metrics`, `GET /healthz`,
/// `GET /livez` (its Redis probe loop makes progress) and `GET /readyz` (Redis takes writes).
///
/// Point Marzban's `WEBHOOK_ADDRESS` at `http://<host>:<port>/events` and set its
/// `WEBHOOK_SECRET` to this bridge's `INGEST_SECRET`.
public struct IngestServer: Service {
    private let configuration: Configuration
    private let listen: HostPort
    private let registry: PrometheusCollectorRegistry
    private let logger: Logger
    private let onListening: @Sendable (Int) async -> Void

    /// - Parameters:
    ///   - configuration: uses `redis`, `bridge` (`listen`, `secret`), and from `worker`
    ///     `maxPayloadBytes` and `lease`.
    ///   - listen: overrides `configuration.bridge.listen` (the `--listen` flag); port 0 picks a
    ///     free port, reported to `onListening`.
    ///   - registry: usually `Telemetry.bootstrap()`.
    ///   - onListening: called once bound, with the bound port.
    public init(
        configuration: Configuration,
        listen: HostPort? = nil,
        registry: PrometheusCollectorRegistry,
        logger: Logger,
        onListening: @escaping @Sendable (Int) async -> Void = { _ in }
    ) {
        self.configuration = configuration
        self.listen = listen ?? configuration.bridge.listen
        self.registry = registry
        self.logger = logger
        self.onListening = onListening
    }

    /// Serves until cancelled or a graceful shutdown is requested.
    public func run() async throws {
        let secret = configuration.bridge.secret.flatMap { $0.isEmpty ? nil : $0 }
        if secret == nil {
            logger.warning("INGEST_SECRET is not set: POST /events accepts unauthenticated requests")
        }
        let health = HealthProbe(
            redis: configuration.redis.url, prefix: configuration.redis.keyPrefix,
            leaseSeconds: configuration.worker.lease, logger: logger
        )
        let handler = IngestHandler(
            secret: secret,
            maxBytes: configuration.worker.maxPayloadBytes,
            producers: ProducerPool(url: configuration.redis.url, prefix: configuration.redis.keyPrefix),
            logger: logger
        )

        let router = Router()
        router.post("events") { request, context in await handler.handle(request, context: context) }
        ObservabilityRoutes.add(to: router, registry: registry, isHealthy: health.isHealthy)
        ObservabilityRoutes.addProbes(to: router, liveness: health.liveness, readinessProblem: health.readinessProblem)

        let onListening = self.onListening
        let logger = self.logger
        let app = Application(
            router: router,
            configuration: .init(address: .hostname(listen.host, port: listen.port)),
            services: [health],
            onServerRunning: { channel in
                let port = channel.localAddress?.port ?? 0
                logger.info("ingest listening", metadata: ["port": "\(port)", "redis": "\(configuration.redis.url)"])
                await onListening(port)
            },
            logger: logger
        )
        try await app.run()
    }
}
