import Foundation

/// A field value for `EventProducer.enqueue(action:username:fields:now:)`.
///
/// Literals work directly (`["used_percent": 80]` style pairs: `("used_percent", 80)`), and a
/// command line passes `--field key=value` through `JSONValue(argument:)`: valid JSON is kept
/// verbatim, anything else becomes a string.
public enum JSONValue: Sendable, Equatable {
    case string(String)
    case integer(Int)
    case number(Double)
    case bool(Bool)
    case null
    /// A complete JSON text (object, array, exact number...), spliced into the event verbatim.
    /// Build it with `JSONValue(json:)` so it is validated.
    case raw([UInt8])

    /// A validated JSON text; throws when `json` is not valid JSON.
    public init(json: String) throws {
        let trimmed = json.trimmingCharacters(in: .whitespacesAndNewlines)
        guard Self.isValidJSON(trimmed) else {
            throw JSONValueError(message: "not valid JSON: \(trimmed.prefix(80))")
        }
        self = .raw(Array(trimmed.utf8))
    }

    /// A command-line value: JSON when `argument` is valid JSON (`3`, `true`, `{"a":1}`,
    /// `"quoted"`), otherwise the string itself (`alice`). To pass the string "3", quote it: `'"3"'`.
    public init(argument: String) {
        self = (try? JSONValue(json: argument)) ?? .string(argument)
    }

    /// The compact JSON encoding.
    public func encoded() throws -> [UInt8] {
        switch self {
        case .string(let text): return try Self.encodeString(text)
        case .integer(let value): return Array(String(value).utf8)
        case .number(let value):
            // JSON has no NaN or infinity.
            guard value.isFinite else { throw JSONValueError(message: "number \(value) is not representable in JSON") }
            return Array("\(value)".utf8)
        case .bool(let value): return Array((value ? "true" : "false").utf8)
        case .null: return Array("null".utf8)
        case .raw(let bytes): return bytes
        }
    }

    /// A JSON string literal (the one escaper: `JSONWriter.appendString`).
    static func encodeString(_ text: String) throws -> [UInt8] {
        var out: [UInt8] = []
        JSONWriter.appendString(text, to: &out)
        return out
    }

    /// Valid by the project's own strict scanner, the grammar events are checked with.
    private static func isValidJSON(_ text: String) -> Bool {
        !text.isEmpty && JSONScanner.isValid(Array(text.utf8))
    }

    /// Builds `{"username":…,"action":…,"enqueued_at":<now, 6 decimals>, <fields in order>}`.
    /// A field named `username`, `action` or `enqueued_at` replaces that value; a repeated field
    /// keeps its first position and its last value.
    public static func event(action: String, username: String, fields: [(String, JSONValue)] = [], now: Double) throws -> [UInt8] {
        var order: [String] = ["username", "action", "enqueued_at"]
        var values: [String: JSONValue] = [
            "username": .string(username),
            "action": .string(action),
            "enqueued_at": .raw(Array(JSONWriter.seconds(now).utf8)),
        ]
        for (key, value) in fields {
            if values.updateValue(value, forKey: key) == nil { order.append(key) }
        }
        var bytes: [UInt8] = [UInt8(ascii: "{")]
        for (index, key) in order.enumerated() {
            if index > 0 { bytes.append(UInt8(ascii: ",")) }
            bytes += try encodeString(key)
            bytes.append(UInt8(ascii: ":"))
            bytes += try values[key]!.encoded()
        }
        bytes.append(UInt8(ascii: "}"))
        return bytes
    }
}

/// Why a `JSONValue` could not be built or encoded.
public struct JSONValueError: Error, CustomStringConvertible {
    public let message: String
    public var description: String { "JSONValue: \(message)" }
}

extension JSONValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByFloatLiteral,
    ExpressibleByBooleanLiteral, ExpressibleByNilLiteral
{
    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int) { self = .integer(value) }
    public init(floatLiteral value: Double) { self = .number(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(nilLiteral: ()) { self = .null }
}
