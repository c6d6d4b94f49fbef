import HTTPTypes
import Hummingbird
import Logging
import Metrics
import NIOCore
import WebhookCore
import WebhookRedis

/// Answers `POST /events`: authenticates, validates and enqueues one Marzban webhook POST.
///
/// Answers: 202 `{"enqueued":N}`; 401 wrong or missing secret; 400 not JSON or an event
/// without `action`/`username`; 413 body over the limit; 503 Redis unavailable. Anything but
/// 202 enqueues nothing: all the events of a POST go in one LPUSH.
struct IngestHandler: Sendable {
    static let secretHeader = HTTPField.Name("x-webhook-secret")!

    private let secret: [UInt8]?
    private let signer: WebhookSigner
    private let maxBytes: Int
    private let producers: ProducerPool
    private let logger: Logger
    private let ingested = Counter(label: MetricNames.eventsIngested)

    /// - Parameters:
    ///   - secret: `INGEST_SECRET`; nil or empty accepts every POST.
    ///   - maxBytes: `WEBHOOK_MAX_PAYLOAD_BYTES`, the largest body accepted.
    init(secret: String?, maxBytes: Int, producers: ProducerPool, logger: Logger) {
        let secret = secret.flatMap { $0.isEmpty ? nil : $0 }
        self.secret = secret.map { Array($0.utf8) }
        self.signer = WebhookSigner(secret: secret)
        self.maxBytes = maxBytes
        self.producers = producers
        self.logger = logger
    }

    func handle(_ request: Request, context: some RequestContext) async -> Response {
        var request = request
        // Refuse early when the client announces a body over the limit; Hummingbird drains the
        // unread body after the answer, so the client still reads a 413, not a reset.
        if let length = request.headers[.contentLength].flatMap(Int.init), length > maxBytes {
            return reject(.contentTooLarge, IngestRejection.tooLarge, "body over \(maxBytes) bytes")
        }
        // Decide on the header before reading the body where it can be done: a missing or wrong
        // raw secret costs the sender nothing more than the headers.
        let early = authorization(request.headers[Self.secretHeader])
        if early == .refused { return reject(.unauthorized, IngestRejection.unauthorized, "invalid secret") }
        let body: [UInt8]
        do {
            let buffer = try await request.collectBody(upTo: maxBytes)
            body = Array(buffer.readableBytesView)
        } catch is NIOTooManyBytesError {
            return reject(.contentTooLarge, IngestRejection.tooLarge, "body over \(maxBytes) bytes")
        } catch {
            // The client went away mid-body; nobody reads this answer.
            return Response(status: .badRequest)
        }

        if early == .needsBody, !isSignatureValid(request.headers[Self.secretHeader], body: body) {
            return reject(.unauthorized, IngestRejection.unauthorized, "invalid secret")
        }

        let batch: IngestBatch
        do {
            batch = try IngestBatch(parsing: body, maxEventBytes: maxBytes)
        } catch {
            let reason = error.index.map { "event \($0): \(error.reason)" } ?? error.reason
            return reject(.badRequest, IngestRejection.invalid, reason, index: error.index)
        }

        if !batch.events.isEmpty {
            do {
                try await producers.enqueue(batch.events)
            } catch {
                logger.error("enqueue failed", metadata: ["error": "\(error)"])
                return reject(.serviceUnavailable, IngestRejection.redisUnavailable, "redis unavailable")
            }
            ingested.increment(by: batch.events.count)
        }
        return Self.json(.accepted, "{\"enqueued\":\(batch.events.count)}")
    }

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

    private typealias IngestRejection = MetricNames.IngestRejection

    private func reject(
        _ status: HTTPResponse.Status, _ metricReason: String, _ message: String, index: Int? = nil
    ) -> Response {
        Counter(label: MetricNames.ingestRejected, dimensions: [("reason", metricReason)]).increment()
        logger.info("rejected POST /events", metadata: ["status": "\(status.code)", "reason": "\(message)"])
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
