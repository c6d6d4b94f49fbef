import Foundation
import WebhookCore

/// Turns delivery attempts into spans: one per attempt, a child of the producer's trace when the
/// event carries a W3C `traceparent` field, else the root of a new trace. The request builder
/// asks it for the `traceparent` header to send, the dispatcher ends the span with the
/// attempt's outcome, and the exporter sends it. Owned by the dispatcher thread.
///
/// Sampling follows the parent (an unsampled producer trace records nothing, but its context
/// still travels to the receiver); attempts without a parent are all recorded.
final class AttemptTracer {
    private let exporter: SpanExporter
    private var random = SystemRandomNumberGenerator()
    /// Attempts on the wire, by webhook-id (one per event and endpoint, so unique among the
    /// attempts one worker has in flight).
    private var open: [String: Open] = [:]

    private struct Open {
        let context: TraceContext
        let parent: UInt64?
        let action: String
        let tries: Int
    }

    init(exporter: SpanExporter) {
        self.exporter = exporter
    }

    /// Starts the attempt's span; returns its `traceparent` header value.
    func begin(_ attempt: DeliveryLedger.Attempt) -> String {
        let parent = attempt.event.string("traceparent").flatMap(TraceContext.init(traceparent:))
        let context = parent?.child(using: &random) ?? TraceContext.root(using: &random)
        // A bound on what a worker that never hears back could accumulate; in practice entries
        // leave with their answers.
        if open.count >= 1 << 16 { open.removeAll(keepingCapacity: true) }
        open[attempt.webhookID] = Open(context: context, parent: parent?.spanID, action: attempt.event.action, tries: attempt.tries)
        return context.traceparent
    }

    /// Ends the span of the attempt `note` decided, whose request ended with `result` after
    /// `duration` seconds.
    func end(_ note: DeliveryLedger.Note, result: AttemptResult, duration: Double, now: Date) {
        guard let id = note.webhookID, let span = open.removeValue(forKey: id), span.context.isSampled else { return }
        let endNanos = UInt64(max(0, now.timeIntervalSince1970) * 1e9)
        let startNanos = endNanos - min(endNanos, UInt64(max(0, duration) * 1e9))
        var attributes: [(String, SpanRecord.Value)] = [
            ("webhook.id", .string(id)),
            ("webhook.outcome", .string(Self.outcome(note.kind))),
            ("http.request.method", .string("POST")),
        ]
        attributes.append(("webhook.action", .string(span.action)))
        attributes.append(("webhook.try", .int(span.tries)))
        if let target = note.target { attributes.append(("webhook.endpoint", .string(target.name))) }
        if case .status(let status, _, _) = result { attributes.append(("http.response.status_code", .int(status))) }
        // The attempt log's class (`AttemptResult.errorClass`): one classification for both.
        let errorClass = result.errorClass
        if let errorClass { attributes.append(("error.type", .string(errorClass))) }
        exporter.add(SpanRecord(context: span.context, parentSpanID: span.parent, name: "webhook deliver",
                                startNanos: startNanos, endNanos: endNanos, attributes: attributes,
                                error: note.kind == .delivered ? nil : (note.reason ?? errorClass ?? Self.outcome(note.kind))))
    }

    private static func outcome(_ kind: DeliveryLedger.Note.Kind) -> String {
        switch kind {
        case .delivered: return "delivered"
        case .retry: return "retry"
        case .dead: return "dead"
        case .rateLimited: return "rate_limited"
        case .handedBack: return "handed_back"
        case .deferred: return "deferred"
        case .rejected: return "rejected"
        case .skipped: return "skipped"
        case .refused: return "refused"
        }
    }
}
