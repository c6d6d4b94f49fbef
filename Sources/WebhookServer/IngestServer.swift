import Hummingbird
import Logging
import NIOCore
import Prometheus
import ServiceLifecycle
import WebhookCore

/// The Marzban bridge (`webhook-worker ingest`): a `Service` that takes Marzban's own webhook
/// POSTs on `POST /events` and enqueues their events, plus `GET /metrics`, `GET /healthz`,
/// `GET /livez` (its Redis probe loop makes progress) and `GET /readyz` (Redis takes writes and
/// cannot evict the queue).
///
/// Point Marzban's `WEBHOOK_ADDRESS` at `http://<host>:<port>/events` and set its
/// `WEBHOOK_SECRET` to this bridge's `INGEST_SECRET`.
public struct IngestServer: Service {
    /// How long the bridge waits for Redis, and how often it looks; the defaults are the
    /// product's, tests shorten them.
    public struct Timing: Sendable {
        /// Seconds one Redis reply may take, for the writes and for the health probe (5).
        public var redisReadTimeout: Double = 5
        /// Seconds a write whose reply was lost is retried, with its id, before the POST is
        /// answered 503 (30).
        public var doubtWindow: Double = 30
        /// `/livez`'s bound for the probe loop (60 s).
        public var livenessBound: Double = 60
        /// Seconds between readings of `maxmemory-policy` (30).
        public var policyInterval: Double = 30

        public init() {}
    }

    private let configuration: Configuration
    private let listen: HostPort
    private let registry: PrometheusCollectorRegistry
    private let logger: Logger
    private let timing: Timing
    private let onListening: @Sendable (Int) async -> Void

    /// - Parameters:
    ///   - configuration: uses `redis`, `bridge`, and from `worker` `maxPayloadBytes`,
    ///     `deadMax` and `lease`.
    ///   - listen: overrides `configuration.bridge.listen` (the `--listen` flag); port 0 picks a
    ///     free port, reported to `onListening`.
    ///   - registry: usually `Telemetry.bootstrap()`.
    ///   - onListening: called once bound, with the bound port.
    public init(
        configuration: Configuration,
        listen: HostPort? = nil,
        registry: PrometheusCollectorRegistry,
        logger: Logger,
        timing: Timing = Timing(),
        onListening: @escaping @Sendable (Int) async -> Void = { _ in }
    ) {
        self.configuration = configuration
        self.listen = listen ?? configuration.bridge.listen
        self.registry = registry
        self.logger = logger
        self.timing = timing
        self.onListening = onListening
    }

    /// Serves until cancelled or a graceful shutdown is requested.
    public func run() async throws {
        let bridge = configuration.bridge
        let secret = bridge.secret.flatMap { $0.isEmpty ? nil : $0 }
        if secret == nil {
            logger.warning("INGEST_SECRET is not set: POST /events accepts unauthenticated requests")
        }
        if bridge.allowLoop {
            logger.warning("INGEST_ALLOW_LOOP=true: requests from webhook-workers are enqueued; a worker whose WEBHOOK_ADDRESS is this bridge would enqueue its events again without end")
        }
        let health = HealthProbe(
            redis: configuration.redis.url, prefix: configuration.redis.keyPrefix,
            leaseSeconds: configuration.worker.lease, policyInterval: timing.policyInterval,
            readTimeout: timing.redisReadTimeout, livenessBound: timing.livenessBound, logger: logger
        )
        let producers = ProducerPool(
            url: configuration.redis.url, prefix: configuration.redis.keyPrefix, deadMax: configuration.worker.deadMax,
            timing: .init(readTimeout: timing.redisReadTimeout, doubtWindow: timing.doubtWindow))
        let handler = IngestHandler(
            secret: secret,
            limits: .init(maxBodyBytes: bridge.maxBodyBytes, maxEventBytes: configuration.worker.maxPayloadBytes,
                          allowLoop: bridge.allowLoop),
            budget: BodyBudget(total: bridge.maxBufferedBytes),
            producers: producers,
            logger: logger
        )

        let router = Router()
        router.post("events") { request, context in await handler.handle(request, context: context) }
        ObservabilityRoutes.add(to: router, registry: registry, isHealthy: health.isHealthy)
        ObservabilityRoutes.addProbes(to: router, liveness: health.liveness, readinessProblem: health.readinessProblem)

        let onListening = self.onListening
        let logger = self.logger
        let listen = self.listen
        let app = Application(
            router: router,
            server: ConnectionTimeouts(bridge).server(logger: logger),
            configuration: .init(address: .hostname(listen.host, port: listen.port)),
            services: [health],
            onServerRunning: { channel in
                let port = channel.localAddress?.port ?? 0
                logger.info("ingest listening", metadata: ["port": "\(port)", "redis": "\(configuration.redis.url)"])
                await onListening(port)
            },
            logger: logger
        )
        let outcome: Result<Void, any Error>
        do {
            try await app.run()
            outcome = .success(())
        } catch {
            outcome = .failure(error)
        }
        await producers.shutdown()
        if case .failure(let error) = outcome { throw ListenError.describe(error, listen: listen, variable: "INGEST_LISTEN or --listen") }
    }
}

extension IngestServer: CustomStringConvertible {
    /// What service-lifecycle logs for this service: never the configuration, which holds secrets.
    public var description: String { "IngestServer(listen: \(listen))" }
}
