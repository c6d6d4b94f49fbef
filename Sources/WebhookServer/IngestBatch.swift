import WebhookCore

/// The events of one POST /events body, as Marzban 0.8.4 sends it: a JSON array of
/// notification objects, or one object.
struct IngestBatch {
    /// Each event's bytes exactly as they appear in the body (no re-serialisation, so every
    /// field reaches the receiver untouched), in body order.
    let events: [[UInt8]]

    /// Why a body was refused (answered 400).
    struct Rejection: Error, Equatable {
        /// Index of the offending array element; nil when the body as a whole is wrong.
        let index: Int?
        let reason: String
    }

    /// Validates `body`: an array of events, or one event. Each event is checked with the
    /// worker's own grammar (`Event.parse`), so what the bridge accepts is what workers deliver,
    /// never a dead letter for being malformed.
    init(parsing body: [UInt8], maxEventBytes: Int) throws(Rejection) {
        let document: JSONDocument
        do {
            document = try JSONScanner.scan(body)
        } catch {
            throw Rejection(index: nil, reason: "not JSON: \(error.description)")
        }
        switch document.kind {
        case .array:
            var events: [[UInt8]] = []
            events.reserveCapacity(document.elements.count)
            for (index, range) in document.elements.enumerated() {
                let event = Array(body[range])
                if let reason = Self.problem(in: event, maxBytes: maxEventBytes) {
                    throw Rejection(index: index, reason: reason)
                }
                events.append(event)
            }
            self.events = events
        case .object:
            let event = Array(body[document.range])
            if let reason = Self.problem(in: event, maxBytes: maxEventBytes) { throw Rejection(index: nil, reason: reason) }
            self.events = [event]
        default:
            throw Rejection(index: nil, reason: "body must be a JSON array of events or one event object, not \(document.kind)")
        }
    }

    /// What is wrong with one event, or nil when it is acceptable.
    private static func problem(in event: [UInt8], maxBytes: Int) -> String? {
        do {
            _ = try Event.parse(event, maxBytes: maxBytes, now: 0)
            return nil
        } catch {
            return error.reason
        }
    }
}
