import Metrics
import Prometheus

/// Process-wide metrics set-up: swift-metrics backed by a Prometheus registry.
public enum Telemetry {
    /// Buckets for `Timer`s: webhook attempts range from a millisecond on loopback to the
    /// request timeout (10 s by default, 30 s at most in sensible set-ups).
    public static let durationBuckets: [Duration] = [
        .milliseconds(1), .microseconds(2500), .milliseconds(5), .milliseconds(10),
        .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250),
        .milliseconds(500), .seconds(1), .milliseconds(2500), .seconds(5), .seconds(10),
        .seconds(30),
    ]

    // A `static let` initialiser runs exactly once, thread-safely: MetricsSystem.bootstrap
    // may only be called once per process, and every caller must see the same registry.
    private static let registry: PrometheusCollectorRegistry = {
        let registry = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.defaultDurationHistogramBuckets = durationBuckets
        MetricsSystem.bootstrap(factory)
        return registry
    }()

    /// Bootstraps `MetricsSystem` with a Prometheus factory on the first call and returns its
    /// registry; later calls return the same registry. Do not call `MetricsSystem.bootstrap`
    /// anywhere else in the process.
    public static func bootstrap() -> PrometheusCollectorRegistry {
        registry
    }
}
