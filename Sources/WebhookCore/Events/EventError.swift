/// Why a queue item is not a deliverable event. Such items become dead letters with `reason`.
public enum EventError: Error, Sendable, Equatable, CustomStringConvertible {
    case tooLarge(size: Int, limit: Int)
    case invalidUTF8
    /// The scanner's description, e.g. "unexpected byte 'x' at offset 3".
    case notJSON(String)
    case notAnObject(JSONKind)
    case missingAction
    case missingUsername

    /// A human-readable explanation, e.g. "not JSON: unexpected byte 'x' at offset 3".
    public var reason: String {
        switch self {
        case .tooLarge(let size, let limit):
            return "payload too large: \(size) bytes, the limit is \(limit) (WEBHOOK_MAX_PAYLOAD_BYTES)"
        case .invalidUTF8:
            return "payload is not valid UTF-8"
        case .notJSON(let detail):
            return "not JSON: \(detail)"
        case .notAnObject(let kind):
            return "not a JSON object: the payload is \(kind == .array ? "an" : "a") \(kind.rawValue)"
        case .missingAction:
            return "no \"action\": the event needs a non-empty string \"action\""
        case .missingUsername:
            return "no \"username\": the event needs a string \"username\""
        }
    }

    public var description: String { reason }
}
