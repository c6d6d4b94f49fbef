import Foundation
import HTTPTypes
import Hummingbird
import Logging
import Metrics
import NIOConcurrencyHelpers
import NIOCore
import WebhookCore
import WebhookRedis

/// Answers `POST /events`: authenticates, validates and enqueues one Marzban webhook POST.
///
/// Answers: 202 `{"enqueued":N}` (the body a worker can recognise a bridge by); 401 wrong or
/// missing secret; 400 not JSON or an event without `action`/`username`; 413 body over
/// `INGEST_MAX_BODY_BYTES`; 508 a request carrying this product's own delivery headers (a
/// worker delivering to a bridge); 503 Redis unavailable, or too many body bytes held
/// (`INGEST_MAX_BUFFERED_BYTES`, with `Retry-After`). Anything but 202 enqueues nothing. A 202
/// POST's events and the dead letters of its oversize events are written in one atomic,
/// idempotent step.
struct IngestHandler: Sendable {
    static let secretHeader = HTTPField.Name("x-webhook-secret")!
    /// W3C Trace Context: the panel's (or a proxy's) trace, carried into each event.
    static let traceparentHeader = HTTPField.Name("traceparent")!
    static let webhookIDHeader = HTTPField.Name("webhook-id")!
    /// 508 Loop Detected (RFC 5842).
    static let loopDetected = HTTPResponse.Status(code: 508, reasonPhrase: "Loop Detected")

    /// What the handler takes from a request.
    struct Limits: Sendable {
        /// `INGEST_MAX_BODY_BYTES`.
        var maxBodyBytes: Int
        /// `WEBHOOK_MAX_PAYLOAD_BYTES`: larger events become dead letters.
        var maxEventBytes: Int
        /// `INGEST_ALLOW_LOOP`.
        var allowLoop: Bool
    }

    private let secret: [UInt8]?
    private let signer: WebhookSigner
    private let limits: Limits
    private let budget: BodyBudget
    private let producers: ProducerPool
    private let logger: Logger
    private let ingested = Counter(label: MetricNames.eventsIngested)
    private let deadTrimmed = Counter(label: MetricNames.deadTrimmed)
    /// When the loop's explanation was last logged at error: at most once a minute.
    private let loopExplained = NIOLockedValueBox<ContinuousClock.Instant?>(nil)

    /// - Parameters:
    ///   - secret: `INGEST_SECRET`; nil or empty accepts every POST.
    init(secret: String?, limits: Limits, budget: BodyBudget, producers: ProducerPool, logger: Logger) {
        let secret = secret.flatMap { $0.isEmpty ? nil : $0 }
        self.secret = secret.map { Array($0.utf8) }
        self.signer = WebhookSigner(secret: secret)
        self.limits = limits
        self.budget = budget
        self.producers = producers
        self.logger = logger
    }

    func handle(_ request: Request, context: some RequestContext) async -> Response {
        if !limits.allowLoop, let marker = Self.loopMarker(request.headers) {
            explainLoop(marker)
            return reject(Self.loopDetected, IngestRejection.loop,
                          "loop detected: this request carries a webhook-worker delivery's \(marker); set INGEST_ALLOW_LOOP=true to accept it")
        }
        let maxBody = limits.maxBodyBytes
        // Refuse early when the client announces a body over the limit; Hummingbird drains the
        // unread body after the answer, so the client still reads a 413, not a reset.
        let declared = request.headers[.contentLength].flatMap(Int.init)
        if let declared, declared > maxBody {
            return reject(.contentTooLarge, IngestRejection.tooLarge, "body over \(maxBody) bytes (INGEST_MAX_BODY_BYTES)")
        }
        // Decide on the header before reading the body where it can be done: a missing or wrong
        // raw secret costs the sender nothing more than the headers.
        let early = authorization(request.headers[Self.secretHeader])
        if early == .refused { return reject(.unauthorized, IngestRejection.unauthorized, "invalid secret") }

        let reservation = BodyReservation(budget: budget, verified: early == .accepted)
        defer { reservation.release() }
        let body: [UInt8]
        switch await readBody(request, declared: declared, reservation: reservation) {
        case .body(let bytes): body = bytes
        case .tooLarge: return reject(.contentTooLarge, IngestRejection.tooLarge, "body over \(maxBody) bytes (INGEST_MAX_BODY_BYTES)")
        case .busy: return busy()
        case .gone: return Response(status: .badRequest)  // the client went away mid-body; nobody reads this
        }

        if early == .needsBody, !isSignatureValid(request.headers[Self.secretHeader], body: body) {
            return reject(.unauthorized, IngestRejection.unauthorized, "invalid secret")
        }

        let batch: IngestBatch
        do {
            batch = try IngestBatch(parsing: body, maxEventBytes: limits.maxEventBytes)
        } catch {
            let reason = error.index.map { "event \($0): \(error.reason)" } ?? error.reason
            return reject(.badRequest, IngestRejection.invalid, reason, index: error.index)
        }

        let deadLetters = deadLetters(for: batch.oversize, in: body)
        guard !batch.events.isEmpty || !deadLetters.isEmpty else { return Self.json(.accepted, "{\"enqueued\":0}") }
        let write: IngestWrite
        if let traceparent = request.headers[Self.traceparentHeader], TraceContext(traceparent: traceparent) != nil {
            // The trace travels in the events: each that has no traceparent field of its own gets
            // the header's (a copy of the events, only for POSTs that carry one).
            var traced: [UInt8] = []
            traced.reserveCapacity(batch.events.reduce(0) { $0 + $1.count + 70 })
            var ranges: [Range<Int>] = []
            for range in batch.events {
                let start = traced.count
                traced.append(contentsOf: TraceContext.adding(traceparent, to: Array(body[range])))
                ranges.append(start..<traced.count)
            }
            write = IngestWrite(id: IngestWrite.newID(), body: traced, events: ranges, deadLetters: deadLetters)
        } else {
            write = IngestWrite(id: IngestWrite.newID(), body: body, events: batch.events, deadLetters: deadLetters)
        }
        do throws(ProducerPool.WriteError) {
            if case .written(let trimmed) = try await producers.write(write), trimmed > 0 {
                deadTrimmed.increment(by: trimmed)
                logger.warning("dead list over WEBHOOK_DEAD_MAX: oldest dead letters dropped", metadata: ["dropped": "\(trimmed)"])
            }
        } catch {
            switch error {
            case .inDoubt(let cause):
                logger.error("enqueue not confirmed: redis may have taken the write but did not answer in time",
                             metadata: ["error": "\(cause)"])
                return reject(.serviceUnavailable, IngestRejection.redisUnavailable, "redis did not confirm the write in time")
            case .failed(let cause):
                logger.error("enqueue failed", metadata: ["error": "\(cause)"])
                return reject(.serviceUnavailable, IngestRejection.redisUnavailable, "redis unavailable")
            }
        }
        ingested.increment(by: batch.events.count)
        for (index, range) in batch.oversize {
            logger.warning("event over WEBHOOK_MAX_PAYLOAD_BYTES kept as a dead letter; the rest of its POST was enqueued",
                           metadata: ["index": "\(index)", "bytes": "\(range.count)", "limit": "\(limits.maxEventBytes)"])
        }
        return Self.json(.accepted, "{\"enqueued\":\(batch.events.count)}")
    }

    // MARK: Body

    private enum BodyRead { case body([UInt8]), tooLarge, busy, gone }

    /// Reads the body into one array sized from `Content-Length` when given: the one copy of
    /// it the bridge keeps (the events are sent to Redis as slices of it). Every byte is counted
    /// in the budget before it is kept.
    private func readBody(_ request: Request, declared: Int?, reservation: BodyReservation) async -> BodyRead {
        let maxBody = limits.maxBodyBytes
        var body: [UInt8] = []
        if let declared, declared > 0 {
            guard reservation.grow(to: declared, limit: maxBody) else { return .busy }
            body.reserveCapacity(declared)
        }
        do {
            for try await chunk in request.body {
                let size = body.count + chunk.readableBytes
                guard size <= maxBody else { return .tooLarge }
                guard reservation.grow(to: size, limit: maxBody) else { return .busy }
                chunk.withUnsafeReadableBytes { body.append(contentsOf: $0) }
            }
        } catch {
            return .gone
        }
        return .body(body)
    }

    private func busy() -> Response {
        var response = reject(.serviceUnavailable, IngestRejection.busy,
                              "bridge busy: request bodies held reached INGEST_MAX_BUFFERED_BYTES; try again")
        response.headers[.retryAfter] = "1"
        return response
    }

    /// The dead letters of the events over the per-event cap: their first 4 KiB, length and
    /// SHA-256, as a worker keeps an oversize event.
    private func deadLetters(for oversize: [(index: Int, range: Range<Int>)], in body: [UInt8]) -> [[UInt8]] {
        let now = Date().timeIntervalSince1970
        return oversize.map { index, range in
            DeadLetter.oversize(body[range], failedAt: now, reason: "event \(index) of a POST to the bridge: "
                + "payload too large: \(range.count) bytes, the limit is \(limits.maxEventBytes) (WEBHOOK_MAX_PAYLOAD_BYTES)")
                .encoded()
        }
    }

    // MARK: Loops

    /// What marks `headers` as a delivery from a webhook-worker, or nil: a `webhook-id` of its
    /// `msg_` form, or its User-Agent (`webhook-worker/<version>`).
    static func loopMarker(_ headers: HTTPFields) -> String? {
        if let id = headers[webhookIDHeader], id.hasPrefix(WebhookID.prefix) { return "webhook-id \(id.prefix(80))" }
        if let agent = headers[.userAgent], agent.hasPrefix("webhook-worker/") { return "User-Agent \(agent.prefix(80))" }
        return nil
    }

    /// Says at `error` (at most once a minute) what a 508 means and how to fix it.
    private func explainLoop(_ marker: String) {
        let now = ContinuousClock.now
        let due = loopExplained.withLockedValue { last -> Bool in
            guard last.map({ now - $0 >= .seconds(60) }) ?? true else { return false }
            last = now
            return true
        }
        guard due else { return }
        logger.error("""
            a webhook-worker is delivering to this bridge (508 Loop Detected): its WEBHOOK_ADDRESS points at the \
            bridge, so every event it delivers would be enqueued again, without end. Point the worker's \
            WEBHOOK_ADDRESS at the receivers and the panel's at the bridge; set INGEST_ALLOW_LOOP=true only \
            to chain bridges on purpose
            """, metadata: ["marker": "\(marker)"])
    }

    // MARK: Authentication

    private enum Authorization { case accepted, refused, needsBody }

    /// Marzban sends the raw secret; a sender like this worker sends the hex HMAC of the body,
    /// which needs the body. Comparisons are constant time so the answer time does not leak
    /// the secret.
    private func authorization(_ header: String?) -> Authorization {
        guard let secret else { return .accepted }
        guard let header else { return .refused }
        let given = Array(header.utf8)
        if WebhookSigner.constantTimeEquals(given, secret) { return .accepted }
        let isHex = given.count == 64 && given.allSatisfy { (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }
        return isHex ? .needsBody : .refused
    }

    private func isSignatureValid(_ header: String?, body: [UInt8]) -> Bool {
        guard let header, let signature = signer.hexSignature(body) else { return false }
        return WebhookSigner.constantTimeEquals(Array(header.utf8), Array(signature.utf8))
    }

    // MARK: Answers

    private typealias IngestRejection = MetricNames.IngestRejection

    /// A refusal: counted, logged at `warning` (the panel never logs why its POSTs fail), and
    /// answered as `{"error": ...}`.
    private func reject(
        _ status: HTTPResponse.Status, _ metricReason: String, _ message: String, index: Int? = nil
    ) -> Response {
        Counter(label: MetricNames.ingestRejected, dimensions: [("reason", metricReason)]).increment()
        logger.warning("rejected POST /events", metadata: ["status": "\(status.code)", "reason": "\(message)"])
        var text = "{\"error\":" + Self.jsonString(message)
        if let index { text += ",\"index\":\(index)" }
        return Self.json(status, text + "}")
    }

    private static func json(_ status: HTTPResponse.Status, _ text: String) -> Response {
        Response(
            status: status,
            headers: [.contentType: "application/json"],
            body: ResponseBody(byteBuffer: ByteBuffer(string: text))
        )
    }

    /// `text` as a JSON string literal (the core's one escaper). Error reasons can quote bytes
    /// from the request body.
    static func jsonString(_ text: String) -> String {
        var out: [UInt8] = []
        JSONWriter.appendString(text, to: &out)
        return String(decoding: out, as: UTF8.self)
    }
}
