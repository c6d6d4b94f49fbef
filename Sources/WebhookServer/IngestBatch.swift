import WebhookCore

/// The events of one POST /events body, as Marzban 0.8.4 sends it: a JSON array of
/// notification objects, or one object.
struct IngestBatch {
    /// Where each event to enqueue sits in the body, in body order. The bytes are sent from the
    /// body as they are (no re-serialisation, so every field reaches the receiver untouched,
    /// and no copy of the batch is made).
    let events: [Range<Int>]
    /// Events over the per-event cap (`WEBHOOK_MAX_PAYLOAD_BYTES`): they become dead letters
    /// instead of costing the whole batch.
    let oversize: [(index: Int, range: Range<Int>)]

    /// Why a body was refused (answered 400).
    struct Rejection: Error, Equatable {
        /// Index of the offending array element; nil when the body as a whole is wrong.
        let index: Int?
        let reason: String
    }

    /// Validates `body`: an array of events, or one event. Each event is checked on its own with
    /// the worker's own grammar (`Event.parse`), so what the bridge enqueues is what workers
    /// deliver, never a dead letter for being malformed. An event over `maxEventBytes` is set
    /// apart in `oversize` (unchecked: it is not delivered); any other bad event refuses the
    /// whole body, which the panel will send again.
    init(parsing body: [UInt8], maxEventBytes: Int) throws(Rejection) {
        let document: JSONDocument
        do {
            document = try JSONScanner.scan(body)
        } catch {
            throw Rejection(index: nil, reason: "not JSON: \(error.description)")
        }
        var events: [Range<Int>] = []
        var oversize: [(index: Int, range: Range<Int>)] = []
        switch document.kind {
        case .array:
            events.reserveCapacity(document.elements.count)
            for (index, range) in document.elements.enumerated() {
                if range.count > maxEventBytes {
                    oversize.append((index, range))
                } else if let reason = Self.problem(in: body[range], maxBytes: maxEventBytes) {
                    throw Rejection(index: index, reason: reason)
                } else {
                    events.append(range)
                }
            }
        case .object:
            let range = document.range
            if range.count > maxEventBytes {
                oversize.append((0, range))
            } else if let reason = Self.problem(in: body[range], maxBytes: maxEventBytes) {
                throw Rejection(index: nil, reason: reason)
            } else {
                events.append(range)
            }
        default:
            throw Rejection(index: nil, reason: "body must be a JSON array of events or one event object, not \(document.kind)")
        }
        self.events = events
        self.oversize = oversize
    }

    /// What is wrong with one event, or nil when it is acceptable.
    private static func problem(in event: ArraySlice<UInt8>, maxBytes: Int) -> String? {
        do {
            _ = try Event.parse(event, maxBytes: maxBytes, now: 0)
            return nil
        } catch {
            return error.reason
        }
    }
}
