import Hummingbird
import Prometheus

/// `GET /metrics` (Prometheus text format) and `GET /healthz`, for any Hummingbird router.
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
}
