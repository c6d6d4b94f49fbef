import Crypto
import Foundation

/// A delivery (or an unusable queue item) that will not be retried, as stored in `<prefix>:dead`.
///
/// Stored as one compact JSON object: `id` (what `dead replay` takes), `reason`, `endpoint_id`
/// (the `Target.id` replays go to), `endpoint` (the URL redacted: dead letters are shown by the
/// CLI and read by anyone with Redis access), `kind`, `webhook_id`, `attempts`, `last_status`,
/// `last_error`, `failed_at` (Unix seconds), and the payload: verbatim under `payload` when it
/// is a JSON object or array, else as a JSON string under `payload` when it is UTF-8, else under
/// `payload_base64`. An oversize payload keeps only a bounded prefix (`payload_truncated`,
/// `payload_length`, `payload_sha256`), so a flood of huge events cannot fill Redis twice.
public struct DeadLetter: Sendable, Equatable {
    public var id: String
    public var payload: [UInt8]
    /// Set when `payload` is only the first `truncatedPrefix` bytes: the full length and SHA-256.
    public var truncated: (length: Int, sha256: String)?
    public var targetID: String?
    /// The endpoint's name (`endpoints`, `dead replay --endpoint`).
    public var endpointName: String?
    /// Redacted URL and kind name of the target, for people.
    public var endpoint: String?
    public var kind: String?
    public var webhookID: String?
    /// Attempts made (0 for items rejected before any attempt).
    public var attempts: Int
    public var lastStatus: Int?
    public var lastError: String?
    /// When the item died, Unix seconds.
    public var failedAt: Double
    /// Why, for humans: e.g. "gave up after 4 attempts: last answer HTTP 500".
    public var reason: String

    /// Bytes of an oversize payload kept in its dead letter.
    public static let truncatedPrefix = 4096

    /// Why a dead-letter entry could not be decoded.
    public struct DecodingError: Error, Sendable, CustomStringConvertible {
        public let message: String
        public var description: String { "DeadLetter(decoding:): \(message)" }
    }

    public init(id: String = DeadLetter.newID(), payload: [UInt8], target: Target? = nil, webhookID: String? = nil,
                attempts: Int = 0, lastStatus: Int? = nil, lastError: String? = nil, failedAt: Double, reason: String) {
        self.id = id
        self.payload = payload
        self.targetID = target?.id
        self.endpointName = target?.name
        self.endpoint = target?.redactedURL
        self.kind = target?.kind.rawValue
        self.webhookID = webhookID
        self.attempts = attempts
        self.lastStatus = lastStatus
        self.lastError = lastError
        self.failedAt = failedAt
        self.reason = reason
    }

    /// A dead letter for a payload too large to keep whole: its first `truncatedPrefix` bytes,
    /// its length and SHA-256.
    public static func oversize(_ payload: some Collection<UInt8>, failedAt: Double, reason: String) -> DeadLetter {
        var letter = DeadLetter(payload: Array(payload.prefix(truncatedPrefix)), failedAt: failedAt, reason: reason)
        letter.truncated = (payload.count, Hex.string(SHA256.hash(data: Array(payload))))
        return letter
    }

    /// A fresh id: `dl_` and 16 characters of [0-9a-z].
    public static func newID() -> String { "dl_" + RandomToken.make(16) }

    public static func == (a: DeadLetter, b: DeadLetter) -> Bool {
        a.encoded() == b.encoded()
    }

    /// The stored JSON object.
    public func encoded() -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(payload.count + 320)
        out.append(contentsOf: #"{"id":"#.utf8)
        JSONWriter.appendString(id, to: &out)
        out.append(contentsOf: #","reason":"#.utf8)
        JSONWriter.appendString(reason, to: &out)
        out.append(contentsOf: #","endpoint_id":"#.utf8)
        appendOptional(targetID, to: &out)
        out.append(contentsOf: #","endpoint_name":"#.utf8)
        appendOptional(endpointName, to: &out)
        out.append(contentsOf: #","endpoint":"#.utf8)
        appendOptional(endpoint, to: &out)
        out.append(contentsOf: #","kind":"#.utf8)
        appendOptional(kind, to: &out)
        out.append(contentsOf: #","webhook_id":"#.utf8)
        appendOptional(webhookID, to: &out)
        out.append(contentsOf: #","attempts":"#.utf8)
        JSONWriter.appendInt(attempts, to: &out)
        out.append(contentsOf: #","last_status":"#.utf8)
        if let lastStatus { JSONWriter.appendInt(lastStatus, to: &out) } else { out.append(contentsOf: "null".utf8) }
        out.append(contentsOf: #","last_error":"#.utf8)
        appendOptional(lastError, to: &out)
        out.append(contentsOf: #","failed_at":"#.utf8)
        JSONWriter.appendSeconds(failedAt, to: &out)
        if let truncated {
            out.append(contentsOf: #","payload_truncated":true,"payload_length":"#.utf8)
            JSONWriter.appendInt(truncated.length, to: &out)
            out.append(contentsOf: #","payload_sha256":"#.utf8)
            JSONWriter.appendString(truncated.sha256, to: &out)
        }
        if truncated == nil, let document = try? JSONScanner.scan(payload),
           document.kind == .object || document.kind == .array, document.range == 0..<payload.count {
            out.append(contentsOf: #","payload":"#.utf8)
            out.append(contentsOf: payload)
        } else if JSONScanner.isValidUTF8(payload) {
            out.append(contentsOf: #","payload":"#.utf8)
            JSONWriter.appendString(String(decoding: payload, as: UTF8.self), to: &out)
        } else {
            out.append(contentsOf: #","payload_base64":"#.utf8)
            JSONWriter.appendString(Data(payload).base64EncodedString(), to: &out)
        }
        out.append(UInt8(ascii: "}"))
        return out
    }

    /// Decodes a stored entry, giving back the payload bytes verbatim.
    public init(decoding bytes: [UInt8]) throws {
        let document: JSONDocument
        do { document = try JSONScanner.scan(bytes) } catch { throw DecodingError(message: "not JSON: \(error)") }
        guard document.kind == .object else { throw DecodingError(message: "not a JSON object") }

        func string(_ key: String) -> String? {
            guard let member = document.member(key), member.kind == .string else { return nil }
            return JSONScanner.decodeString(bytes, member.valueRange)
        }
        func number(_ key: String) -> Double? {
            guard let member = document.member(key), member.kind == .number else { return nil }
            return Double(String(decoding: bytes[member.valueRange], as: UTF8.self))
        }
        func integer(_ key: String) -> Int? {
            guard let member = document.member(key), member.kind == .number else { return nil }
            return Int(String(decoding: bytes[member.valueRange], as: UTF8.self))
        }

        guard let reason = string("reason") else { throw DecodingError(message: "no string \"reason\"") }
        let payload: [UInt8]
        if let member = document.member("payload") {
            switch member.kind {
            case .object, .array: payload = Array(bytes[member.valueRange])
            case .string: payload = Array((JSONScanner.decodeString(bytes, member.valueRange) ?? "").utf8)
            default: throw DecodingError(message: "\"payload\" is neither JSON nor a string")
            }
        } else if let base64 = string("payload_base64"), let data = Data(base64Encoded: base64) {
            payload = Array(data)
        } else {
            throw DecodingError(message: "no \"payload\" or \"payload_base64\"")
        }
        self.init(id: string("id") ?? "", payload: payload, webhookID: string("webhook_id"),
                  attempts: integer("attempts") ?? 0, lastStatus: integer("last_status"),
                  lastError: string("last_error"), failedAt: number("failed_at") ?? 0, reason: reason)
        self.targetID = string("endpoint_id")
        self.endpointName = string("endpoint_name")
        self.endpoint = string("endpoint")
        self.kind = string("kind")
        if let length = integer("payload_length"), let digest = string("payload_sha256") {
            truncated = (length, digest)
        }
    }

    private func appendOptional(_ value: String?, to out: inout [UInt8]) {
        if let value { JSONWriter.appendString(value, to: &out) } else { out.append(contentsOf: "null".utf8) }
    }
}
