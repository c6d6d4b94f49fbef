import Hummingbird
import Logging
import NIOCore
import Prometheus
import ServiceLifecycle
import WebhookCore

/// A `Service` serving only `GET /metrics`, `GET /healthz`, `GET /livez` and `GET /readyz`:
/// what a worker runs when `WEBHOOK_METRICS_LISTEN` is set.
public struct MetricsServer: Service {
    private let listen: HostPort
    private let registry: PrometheusCollectorRegistry
    private let isHealthy: @Sendable () -> Bool
    private let liveness: Liveness
    private let readinessProblem: (@Sendable () -> String?)?
    private let services: [any Service]
    private let logger: Logger
    private let onListening: @Sendable (Int) async -> Void

    /// Serves `/healthz` and `/readyz` from `health`, which the server runs (and stops) with
    /// itself, and `/livez` from `health.liveness` (pass the worker runtime's to `HealthProbe`).
    /// - Parameters:
    ///   - listen: address to bind; port 0 picks a free port, reported to `onListening`.
    ///   - registry: usually `Telemetry.bootstrap()`.
    ///   - onListening: called once bound, with the bound port.
    public init(
        listen: HostPort,
        registry: PrometheusCollectorRegistry,
        health: HealthProbe,
        logger: Logger,
        onListening: @escaping @Sendable (Int) async -> Void = { _ in }
    ) {
        self.init(listen: listen, registry: registry, isHealthy: health.isHealthy,
                  liveness: health.liveness, readinessProblem: health.readinessProblem,
                  services: [health], logger: logger, onListening: onListening)
    }

    /// Serves `/healthz` from a flag kept elsewhere (e.g. a worker's maintenance thread).
    /// - Parameters:
    ///   - isHealthy: must not block; it is called on a request task.
    ///   - liveness: answers `/livez`.
    ///   - readinessProblem: answers `/readyz` (nil: no `/readyz`); must not block either.
    public init(
        listen: HostPort,
        registry: PrometheusCollectorRegistry,
        isHealthy: @escaping @Sendable () -> Bool,
        liveness: Liveness = Liveness(),
        readinessProblem: (@Sendable () -> String?)? = nil,
        logger: Logger,
        onListening: @escaping @Sendable (Int) async -> Void = { _ in }
    ) {
        self.init(listen: listen, registry: registry, isHealthy: isHealthy,
                  liveness: liveness, readinessProblem: readinessProblem,
                  services: [], logger: logger, onListening: onListening)
    }

    private init(
        listen: HostPort, registry: PrometheusCollectorRegistry, isHealthy: @escaping @Sendable () -> Bool,
        liveness: Liveness, readinessProblem: (@Sendable () -> String?)?,
        services: [any Service], logger: Logger, onListening: @escaping @Sendable (Int) async -> Void
    ) {
        self.listen = listen
        self.registry = registry
        self.isHealthy = isHealthy
        self.liveness = liveness
        self.readinessProblem = readinessProblem
        self.services = services
        self.logger = logger
        self.onListening = onListening
    }

    /// Serves until cancelled or a graceful shutdown is requested.
    public func run() async throws {
        let router = Router()
        ObservabilityRoutes.add(to: router, registry: registry, isHealthy: isHealthy)
        ObservabilityRoutes.addProbes(to: router, liveness: liveness, readinessProblem: readinessProblem)
        let onListening = self.onListening
        let app = Application(
            router: router,
            configuration: .init(address: .hostname(listen.host, port: listen.port)),
            services: services,
            onServerRunning: { channel in await onListening(channel.localAddress?.port ?? 0) },
            logger: logger
        )
        do {
            try await app.run()
        } catch {
            throw ListenError.describe(error, listen: listen, variable: "WEBHOOK_METRICS_LISTEN")
        }
    }
}
