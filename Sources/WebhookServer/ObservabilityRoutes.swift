import Hummingbird
import Prometheus
import WebhookCore

/// `GET /metrics` (Prometheus text format) and `GET /healthz`, plus the orchestrator probes
/// `GET /livez` and `GET /readyz`, for any Hummingbird router.
public enum ObservabilityRoutes {
    /// The content type Prometheus scrapers expect for the text exposition format.
    public static let metricsContentType = "text/plain; version=0.0.4; charset=utf-8"

    /// Adds the two routes to `router`.
    /// - Parameters:
    ///   - registry: what `/metrics` emits (usually `Telemetry.bootstrap()`).
    ///   - isHealthy: answers `/healthz`: 200 `ok` when true, 503 `redis unavailable` when false.
    ///     Called on a request task, so it must not block (read a cached flag).
    public static func add<Context: RequestContext>(
        to router: Router<Context>,
        registry: PrometheusCollectorRegistry,
        isHealthy: @escaping @Sendable () -> Bool
    ) {
        router.get("metrics") { _, _ -> Response in
            var text: [UInt8] = []
            text.reserveCapacity(4096)
            registry.emit(into: &text)
            return Response(
                status: .ok,
                headers: [.contentType: metricsContentType],
                body: ResponseBody(byteBuffer: ByteBuffer(bytes: text))
            )
        }
        router.get("healthz") { _, _ -> Response in
            let healthy = isHealthy()
            return Response(
                status: healthy ? .ok : .serviceUnavailable,
                headers: [.contentType: "text/plain; charset=utf-8"],
                body: ResponseBody(byteBuffer: ByteBuffer(string: healthy ? "ok\n" : "redis unavailable\n"))
            )
        }
    }

    /// Adds `GET /livez` and, when `readinessProblem` is given, `GET /readyz`.
    /// - Parameters:
    ///   - liveness: `/livez` answers 200 `ok: <loops watched>` while no registered loop is past
    ///     its bound, else 503 `stalled: <loop> (...)` naming each stalled loop. Restarting the
    ///     process is the cure for a stall, and only for a stall: a Redis outage never fails
    ///     `/livez`.
    ///   - readinessProblem: `/readyz` answers 200 `ok` when it returns nil, else 503
    ///     `not ready: <reason>`. Must not block (read a cached outcome).
    public static func addProbes<Context: RequestContext>(
        to router: Router<Context>,
        liveness: Liveness,
        readinessProblem: (@Sendable () -> String?)?
    ) {
        router.get("livez") { _, _ -> Response in
            let stalled = liveness.stalled()
            guard stalled.isEmpty else {
                return text(.serviceUnavailable, "stalled: \(stalled.map(\.description).joined(separator: ", "))\n")
            }
            let names = liveness.names
            return text(.ok, names.isEmpty ? "ok\n" : "ok: \(names.joined(separator: ", "))\n")
        }
        guard let readinessProblem else { return }
        router.get("readyz") { _, _ -> Response in
            let problem = readinessProblem()
            return text(problem == nil ? .ok : .serviceUnavailable, problem.map { "not ready: \($0)\n" } ?? "ok\n")
        }
    }

    private static func text(_ status: HTTPResponse.Status, _ body: String) -> Response {
        Response(
            status: status,
            headers: [.contentType: "text/plain; charset=utf-8"],
            body: ResponseBody(byteBuffer: ByteBuffer(string: body))
        )
    }
}
