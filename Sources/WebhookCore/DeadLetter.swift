import Foundation

/// A delivery (or an unusable queue item) that will not be retried, as stored in `<prefix>:dead`.
///
/// Stored as one compact JSON object: `reason`, `endpoint`, `kind` ("webhook"/"discord"),
/// `webhook_id`, `attempts`, `last_status`, `last_error`, `failed_at` (Unix seconds), and the
/// payload: verbatim under `payload` when it is a JSON object or array, else as a JSON string
/// under `payload` when it is UTF-8, else under `payload_base64`. Decoding gives back the
/// payload bytes exactly.
public struct DeadLetter: Sendable, Equatable {
    public var payload: [UInt8]
    public var target: Target?
    public var webhookID: String?
    /// Attempts made (0 for items rejected before any attempt).
    public var attempts: Int
    public var lastStatus: Int?
    public var lastError: String?
    /// When the item died, Unix seconds.
    public var failedAt: Double
    /// Why, for humans: e.g. "gave up after 4 attempts: last answer HTTP 500".
    public var reason: String

    /// Why a dead-letter entry could not be decoded.
    public struct DecodingError: Error, Sendable, CustomStringConvertible {
        public let message: String
        public var description: String { "DeadLetter(decoding:): \(message)" }
    }

    public init(payload: [UInt8], target: Target? = nil, webhookID: String? = nil, attempts: Int = 0,
                lastStatus: Int? = nil, lastError: String? = nil, failedAt: Double, reason: String) {
        self.payload = payload
        self.target = target
        self.webhookID = webhookID
        self.attempts = attempts
        self.lastStatus = lastStatus
        self.lastError = lastError
        self.failedAt = failedAt
        self.reason = reason
    }

    /// The stored JSON object.
    public func encoded() -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(payload.count + 256)
        out.append(contentsOf: #"{"reason":"#.utf8)
        JSONWriter.appendString(reason, to: &out)
        out.append(contentsOf: #","endpoint":"#.utf8)
        appendOptional(target?.url, to: &out)
        out.append(contentsOf: #","kind":"#.utf8)
        appendOptional(target.map { $0.kind == .webhook ? "webhook" : "discord" }, to: &out)
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
        if let document = try? JSONScanner.scan(payload), document.kind == .object || document.kind == .array,
           document.range == 0..<payload.count {
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

        var target: Target?
        if let url = string("endpoint") {
            target = Target(kind: string("kind") == "discord" ? .discord : .webhook, url: url)
        }
        self.init(payload: payload, target: target, webhookID: string("webhook_id"),
                  attempts: integer("attempts") ?? 0,
                  lastStatus: integer("last_status"), lastError: string("last_error"),
                  failedAt: number("failed_at") ?? 0, reason: reason)
    }

    private func appendOptional(_ value: String?, to out: inout [UInt8]) {
        if let value { JSONWriter.appendString(value, to: &out) } else { out.append(contentsOf: "null".utf8) }
    }
}
