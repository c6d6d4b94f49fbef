import CHiredis

/// One decoded Redis reply (RESP2). Error replies are values, not thrown errors, so a caller can
/// tell a refused command (`.error`) from a broken connection (a thrown `RedisError`).
public enum RedisReply: Sendable {
    case string([UInt8])
    case status(String)
    case integer(Int)
    case array([RedisReply])
    case null
    case error(String)

    /// Deep-copies a hiredis reply tree; the caller still frees `reply`.
    init(_ reply: UnsafePointer<redisReply>) {
        let r = reply.pointee
        switch r.type {
        case REDIS_REPLY_STRING:
            self = .string(Self.bytes(r.str, r.len))
        case REDIS_REPLY_STATUS:
            self = .status(String(decoding: Self.bytes(r.str, r.len), as: UTF8.self))
        case REDIS_REPLY_ERROR:
            self = .error(String(decoding: Self.bytes(r.str, r.len), as: UTF8.self))
        case REDIS_REPLY_INTEGER:
            self = .integer(Int(r.integer))
        case REDIS_REPLY_ARRAY:
            var elements: [RedisReply] = []
            elements.reserveCapacity(r.elements)
            for index in 0..<r.elements {
                if let element = r.element[index] {
                    elements.append(RedisReply(element))
                } else {
                    elements.append(.null)
                }
            }
            self = .array(elements)
        default:  // REDIS_REPLY_NIL and anything a newer hiredis might add
            self = .null
        }
    }

    private static func bytes(_ pointer: UnsafeMutablePointer<CChar>?, _ count: Int) -> [UInt8] {
        guard let pointer, count > 0 else { return [] }
        return pointer.withMemoryRebound(to: UInt8.self, capacity: count) {
            Array(UnsafeBufferPointer(start: $0, count: count))
        }
    }

    // MARK: Accessors, for the common "expect this shape" cases.

    /// The payload of a bulk string or status reply.
    public var bytes: [UInt8]? {
        switch self {
        case .string(let bytes): return bytes
        case .status(let text): return Array(text.utf8)
        default: return nil
        }
    }

    /// A bulk string or status reply as text (invalid UTF-8 repaired).
    public var text: String? { bytes.map { String(decoding: $0, as: UTF8.self) } }

    /// An integer reply, or a bulk string holding an integer (as some commands answer).
    public var integer: Int? {
        switch self {
        case .integer(let value): return value
        case .string: return text.flatMap { Int($0) }
        default: return nil
        }
    }

    /// The elements of an array reply; `.null` (a nil multi-bulk) reads as empty.
    public var array: [RedisReply]? {
        switch self {
        case .array(let elements): return elements
        case .null: return []
        default: return nil
        }
    }

    /// The server's error text when this is an error reply.
    public var errorMessage: String? {
        if case .error(let message) = self { return message }
        return nil
    }
}
