import Foundation
import Logging
import Metrics
import WebhookCore
import WebhookHTTP

/// Sends finished spans to an OTLP/HTTP collector in batches, on a thread of its own, so that
/// tracing never slows or blocks delivery: `add` only appends under a lock, and drops (and
/// counts) a span when the queue is full, as the OpenTelemetry batch span processor does.
///
/// One export request at a time, through its own `HTTPClient` (a libcurl multi handle on its own
/// thread: handles are never shared with the delivery client). A collector that is down, slow
/// or hung costs at most `maxQueueSize` spans of memory and the export timeout per batch; the
/// spans of a failed export are dropped and counted, never retried into unbounded memory.
final class SpanExporter: @unchecked Sendable {
    // @unchecked: `queue` and `stopping` are only touched with `condition` held; `failedSince`
    // and `lastWarning` only on the export thread; `client` is thread-safe and set in `init`.
    private let configuration: TracingConfiguration
    private let endpoint: String
    private let logger: Logger
    private let condition = NSCondition()
    private var queue: [SpanRecord] = []
    private var stopping = false
    private let finished = DispatchSemaphore(value: 0)
    private let exported = Counter(label: MetricNames.spansExported)
    private let dropped = Counter(label: MetricNames.spansDropped)
    private let client: HTTPClient?
    private let answered = DispatchSemaphore(value: 0)
    private let lastStatus = LockedStatus()
    /// Export-thread state: when exports started failing, and the last warning about it.
    private var failedSince: Date?
    private var lastWarning = Date.distantPast

    /// The outcome of the export in flight, written by the HTTP thread. Unchecked Sendable:
    /// `value` is touched only under `lock`. A class, not a `Mutex`, because the HTTP client's
    /// callback must capture it before `self` is initialized.
    private final class LockedStatus: @unchecked Sendable {
        private let lock = NSLock()
        private var value: HTTPResponse?
        func set(_ response: HTTPResponse) { lock.lock(); value = response; lock.unlock() }
        func take() -> HTTPResponse? { lock.lock(); defer { value = nil; lock.unlock() }; return value }
    }

    init?(configuration: TracingConfiguration, logger: Logger) {
        guard let endpoint = configuration.endpoint else { return nil }
        self.configuration = configuration
        self.endpoint = endpoint
        self.logger = logger
        let status = lastStatus
        let answered = self.answered
        do {
            client = try HTTPClient(maxConcurrent: 1, maxPerLane: 1, logger: logger) { responses in
                if let response = responses.last { status.set(response) }
                for _ in responses { answered.signal() }
            }
        } catch {
            logger.error("tracing is off: the OTLP exporter's HTTP client did not start", metadata: ["error": "\(error)"])
            return nil
        }
        WorkerThread(name: "otlp-export") { [self] in run() }.start()
    }

    /// Queues a finished span; never blocks on the network.
    func add(_ span: SpanRecord) {
        condition.lock()
        guard queue.count < configuration.maxQueueSize, !stopping else {
            condition.unlock()
            dropped.increment()
            return
        }
        queue.append(span)
        if queue.count >= configuration.maxExportBatchSize { condition.signal() }
        condition.unlock()
    }

    /// Cancels an export in flight, makes one last short export of what is queued, then stops
    /// the thread: a hung collector holds a worker's exit for about two seconds at most.
    func shutdown() {
        condition.lock()
        stopping = true
        condition.signal()
        condition.unlock()
        client?.cancelAll()
        finished.wait()
        client?.shutdown()
    }

    private func run() {
        while true {
            condition.lock()
            let deadline = Date(timeIntervalSinceNow: configuration.scheduleDelay)
            while queue.count < configuration.maxExportBatchSize && !stopping {
                if !condition.wait(until: deadline) { break }
            }
            let batch = Array(queue.prefix(configuration.maxExportBatchSize))
            queue.removeFirst(batch.count)
            let stop = stopping
            // Stopping: one last export, kept short, and whatever does not fit in it is dropped,
            // so a hung collector cannot hold the worker's exit.
            let left = stop ? queue.count : 0
            if stop { queue.removeAll() }
            condition.unlock()
            if !batch.isEmpty {
                if export(batch, timeout: stop ? min(configuration.timeout, 1) : configuration.timeout) {
                    exported.increment(by: Int64(batch.count))
                } else {
                    dropped.increment(by: Int64(batch.count))
                }
            }
            if stop {
                if left > 0 { dropped.increment(by: Int64(left)) }
                finished.signal()
                return
            }
        }
    }

    /// Posts one batch; true on a 2xx answer. Waits at most `timeout` (plus a second for the
    /// client's own bookkeeping).
    private func export(_ spans: [SpanRecord], timeout: Double) -> Bool {
        guard let client else { return false }
        var headers = ["Content-Type: application/json"]
        for (name, value) in configuration.headers { headers.append(name + ": " + value) }
        let body = OTLPTraceJSON.encode(spans, resource: configuration.resource, scope: "webhook-worker")
        client.submit([HTTPRequest(token: 1, url: endpoint, headers: headers, body: body, lane: 0, timeout: timeout)])
        guard answered.wait(timeout: .now() + timeout + 1) == .success, let response = lastStatus.take() else {
            client.cancelAll()
            _ = answered.wait(timeout: .now() + 1)
            _ = lastStatus.take()
            warn("no answer", spans: spans.count)
            return false
        }
        guard (200..<300).contains(response.status) else {
            warn("\(response.outcome)", spans: spans.count)
            return false
        }
        if failedSince != nil {
            logger.info("OTLP exports succeed again")
            failedSince = nil
        }
        return true
    }

    /// Logs a failed export once when exports start failing, then at most once a minute: a
    /// collector that is down must not flood the worker's log.
    private func warn(_ error: String, spans: Int) {
        let now = Date()
        if failedSince == nil { failedSince = now }
        guard now.timeIntervalSince(lastWarning) >= 60 else { return }
        lastWarning = now
        logger.warning("OTLP export failed; its spans are dropped (counted in \(MetricNames.spansDropped))",
                       metadata: ["spans": "\(spans)", "error": "\(error)", "collector": "\(URLRedaction.redact(endpoint))"])
    }
}
