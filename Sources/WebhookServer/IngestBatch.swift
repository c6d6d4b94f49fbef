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

    /// Validates `body`: an array of objects, or one object; every object needs a non-empty
    /// string `action` and a string `username`.
    init(parsing body: [UInt8]) throws(Rejection) {
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
                if let reason = Self.problem(in: event) {
                    throw Rejection(index: index, reason: reason)
                }
                events.append(event)
            }
            self.events = events
        case .object:
            let event = Array(body[document.range])
            if let reason = Self.problem(in: event) { throw Rejection(index: nil, reason: reason) }
            self.events = [event]
        default:
            throw Rejection(index: nil, reason: "body must be a JSON array of events or one event object, not \(document.kind)")
        }
    }

    /// What is wrong with one event, or nil when it is acceptable.
    private static func problem(in event: [UInt8]) -> String? {
        // The outer scan validated the whole body, so this scan of a slice of it cannot fail
        // for any reason but a bug; report it rather than trap.
        guard let document = try? JSONScanner.scan(event) else { return "not JSON" }
        guard case .object = document.kind else { return "not an object but \(document.kind)" }
        guard let action = document.members.first(where: { $0.key == "action" }) else {
            return "missing action"
        }
        guard case .string = action.kind,
              let value = JSONScanner.decodeString(event, action.valueRange), !value.isEmpty
        else { return "action must be a non-empty string" }
        guard let username = document.members.first(where: { $0.key == "username" }) else {
            return "missing username"
        }
        guard case .string = username.kind else { return "username must be a string" }
        return nil
    }
}
