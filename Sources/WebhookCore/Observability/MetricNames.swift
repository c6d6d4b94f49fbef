/// The metric names every module uses, in one place so /metrics stays consistent.
///
/// The Prometheus registry refuses to mix types or label sets under one name (it stops the
/// process), so each name below must always be used with the type and the dimensions given.
/// Names only (no metrics code): the worker and the servers both record under them.
public enum MetricNames {
    /// Counter, dimensions `outcome` (``Outcome``), `status_class` (``StatusClass``) and
    /// `endpoint` (the endpoint's name): one per finished delivery attempt.
    public static let deliveries = "webhook_deliveries_total"
    /// Counter, dimension `endpoint`: events a routed endpoint (`url_from`, `chat_id_from`,
    /// WEBHOOK_DISCORD_PER_ADMIN) did not get because the event's field was empty or absent
    /// (an admin without a Discord webhook or Telegram ID).
    public static let deliveriesSkipped = "webhook_deliveries_skipped_total"
    /// Timer (a histogram in seconds, buckets 1 ms .. 30 s), no dimensions: one per HTTP attempt.
    public static let attemptDuration = "webhook_attempt_duration_seconds"
    /// Gauge, no dimensions: length of `<prefix>:queue`.
    public static let queueDepth = "webhook_queue_depth"
    /// Gauge, no dimensions: size of `<prefix>:delayed`.
    public static let delayedDepth = "webhook_delayed_depth"
    /// Gauge, no dimensions: items held in all `<prefix>:processing:*` lists.
    public static let processingDepth = "webhook_processing_depth"
    /// Gauge, no dimensions: length of `<prefix>:dead`.
    public static let deadDepth = "webhook_dead_depth"
    /// Gauge, no dimensions: HTTP requests pending or running in this worker.
    public static let inflightRequests = "webhook_inflight_requests"
    /// Counter, no dimensions: queue items taken by this worker.
    public static let eventsTaken = "webhook_events_taken_total"
    /// Counter, no dimensions: taken items that were not valid events (dead-lettered).
    public static let malformedEvents = "webhook_malformed_events_total"
    /// Counter, no dimensions: oldest dead letters dropped to keep the list within WEBHOOK_DEAD_MAX.
    public static let deadTrimmed = "webhook_dead_trimmed_total"
    /// Counter, no dimensions: settles whose attempt-log records could not be written (the
    /// settle itself was).
    public static let attemptLogFailures = "webhook_attempt_log_failures_total"
    /// Counter, dimensions `endpoint` and `state` (`opened`, `closed`): circuit-breaker
    /// transitions this worker caused.
    public static let breakerTransitions = "webhook_breaker_transitions_total"
    /// Counter, no dimensions: attempt spans sent to the OTLP collector (tracing on).
    public static let spansExported = "webhook_trace_spans_exported_total"
    /// Counter, no dimensions: attempt spans dropped (queue full, collector down or refusing).
    public static let spansDropped = "webhook_trace_spans_dropped_total"
    /// Gauge, no dimensions: live workers (heartbeat within the lease), fleet-wide.
    public static let workersAlive = "webhook_workers_alive"
    /// Gauge, no dimensions: seconds since the `enqueued_at` of the item next to be taken (the
    /// queue's tail), on Redis's clock; 0 when the queue is empty or the item has none.
    public static let queueOldestAge = "webhook_queue_oldest_age_seconds"
    /// Gauge, no dimensions: Redis's `used_memory` (INFO memory), in bytes.
    public static let redisUsedMemory = "webhook_redis_used_memory_bytes"
    /// Gauge, no dimensions: Redis's `maxmemory`, in bytes (0: no limit).
    public static let redisMaxMemory = "webhook_redis_maxmemory_bytes"
    /// Gauge, no dimensions: 1 while `/readyz` answers 200 (Redis is a writable master), else 0.
    public static let ready = "webhook_ready"
    /// Gauge, dimension `endpoint`: the endpoint's fleet-wide circuit breaker, 0 closed (ok),
    /// 1 open, 2 paused (by `endpoints pause`).
    public static let breakerState = "webhook_breaker_state"
    /// Gauge, dimension `endpoint`: keys of an ordered endpoint whose head has failed and holds
    /// the key's later events back (fleet-wide).
    public static let orderedBlockedKeys = "webhook_ordered_blocked_keys"
    /// Gauge, dimension `endpoint`: seconds since the oldest blocked head of an ordered endpoint
    /// first failed, on Redis's clock; 0 when none is blocked.
    public static let orderedOldestBlockedAge = "webhook_ordered_oldest_blocked_seconds"
    /// Counter, no dimensions: events the ingest bridge enqueued.
    public static let eventsIngested = "webhook_events_ingested_total"
    /// Counter, dimension `reason` (``IngestRejection``): POSTs the ingest bridge refused.
    public static let ingestRejected = "webhook_ingest_rejected_total"

    /// Values of the `outcome` dimension of ``deliveries``.
    public enum Outcome {
        public static let delivered = "delivered"
        public static let retry = "retry"
        public static let dead = "dead"
        public static let deferred = "deferred"
        public static let handedBack = "handed_back"
    }

    /// Values of the `status_class` dimension of ``deliveries``.
    public enum StatusClass {
        /// `2xx`, `3xx`, `4xx`, `5xx` for an HTTP answer; `error` when there was none
        /// (connection error, timeout, cancellation).
        public static func of(status: Int) -> String {
            switch status {
            case 200..<300: "2xx"
            case 300..<400: "3xx"
            case 400..<500: "4xx"
            case 500..<600: "5xx"
            default: "error"
            }
        }
    }

    /// Values of the `reason` dimension of ``ingestRejected``.
    public enum IngestRejection {
        public static let unauthorized = "unauthorized"
        public static let invalid = "invalid"
        public static let tooLarge = "too_large"
        public static let redisUnavailable = "redis_unavailable"
        /// A request carrying this product's own delivery headers (508): a worker delivering to a bridge.
        public static let loop = "loop"
        /// Request bodies held reached INGEST_MAX_BUFFERED_BYTES (503).
        public static let busy = "busy"
        /// A connection closed for a header, body or idle timeout.
        public static let timeout = "timeout"
    }
}
