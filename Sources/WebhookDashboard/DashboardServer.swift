import Foundation
import Hummingbird
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle
import WebhookCore
import WebhookRedis
import WebhookServer

/// `webhook-worker dashboard`: a `Service` serving the web dashboard, plus `/livez` and
/// `/readyz` as the bridge does.
///
/// Pages are rendered on the server (``HTML``) from the same WebhookRedis reads the CLI makes;
/// every asset is served from the binary, so the dashboard works offline, and pages refresh
/// themselves with `<meta http-equiv="refresh">` (no script at all: the Content-Security-Policy
/// forbids every script, so an escaping slip could not run one either).
///
/// Security: with `DASHBOARD_TOKEN`, every page but the token form answers 401 (showing the
/// form) without the session cookie (``DashboardAuth``). Every change is a POST carrying the
/// CSRF token, refused with 403 without it or in read-only mode.
public struct DashboardServer: Service {
    private let configuration: Configuration
    private let listen: HostPort
    private let logger: Logger
    private let onListening: @Sendable (Int) async -> Void

    /// - Parameters:
    ///   - configuration: uses `redis`, `dashboard`, the endpoints, and from `worker` the lease
    ///     and item key.
    ///   - listen: overrides `configuration.dashboard.listen` (the `--listen` flag); port 0 picks
    ///     a free port, reported to `onListening`.
    public init(configuration: Configuration, listen: HostPort? = nil, logger: Logger,
                onListening: @escaping @Sendable (Int) async -> Void = { _ in }) {
        self.configuration = configuration
        self.listen = listen ?? configuration.dashboard.listen
        self.logger = logger
        self.onListening = onListening
    }

    /// The most a form body may hold.
    static let maxFormBytes = 16 * 1024

    public func run() async throws {
        let settings = configuration.dashboard
        let auth = DashboardAuth(token: settings.token)
        if auth.isOpen { logger.warning("DASHBOARD_TOKEN is not set: anyone who reaches the dashboard can use it") }
        let health = HealthProbe(redis: configuration.redis.url, prefix: configuration.redis.keyPrefix,
                                 leaseSeconds: configuration.worker.lease, updatesDepths: false, logger: logger)
        let store = DashboardStore(configuration: configuration)
        let routes = DashboardRoutes(auth: auth, store: store, readOnly: settings.readOnly, logger: logger)

        let router = Router()
        routes.add(to: router)
        ObservabilityRoutes.addProbes(to: router, liveness: health.liveness, readinessProblem: health.readinessProblem)

        let onListening = self.onListening
        let logger = self.logger
        let listen = self.listen
        let app = Application(
            router: router,
            configuration: .init(address: .hostname(listen.host, port: listen.port)),
            services: [health],
            onServerRunning: { channel in
                let port = channel.localAddress?.port ?? 0
                logger.info("dashboard listening", metadata: ["port": "\(port)", "read_only": "\(settings.readOnly)"])
                await onListening(port)
            },
            logger: logger
        )
        do {
            try await app.run()
        } catch {
            throw ListenError.describe(error, listen: listen, variable: "DASHBOARD_LISTEN or --listen")
        }
    }
}

extension DashboardServer: CustomStringConvertible {
    /// What service-lifecycle logs for this service: never the configuration, which holds secrets.
    public var description: String { "DashboardServer(listen: \(listen))" }
}
