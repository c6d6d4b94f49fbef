/// A validated producer event, and the body sent for each attempt.
///
/// Parsing checks the event once; afterwards `body(tries:)` is two appends and an integer
/// render around the `tries` value located at parse time (no copy of the payload is kept
/// besides `bytes`: large events are held once, not three times).
/// Every byte of the producer's object is kept (whitespace, key order, unknown fields),
/// except that `enqueued_at` is appended when missing and `tries` is set per attempt.
///
/// A class, immutable: each attempt, request and held event refers to it, and a reference is one
/// reference-count update per copy where this struct's five buffers were five.
public final class Event: Sendable {
    /// The event object: the producer's bytes, plus `enqueued_at` when it was missing.
    public let bytes: [UInt8]
    /// The non-empty `action` (e.g. `user_created`).
    public let action: String
    /// The `username` the event is about (may be empty).
    public let username: String
    /// The top-level members of `bytes` (ranges index `bytes`).
    public let members: [JSONMember]

    /// Where the per-attempt `tries` value goes: the range of an existing top-level value
    /// (replaced), or an empty range at the closing brace (then `triesPrefix` is inserted first).
    private let triesRange: Range<Int>
    /// `,"tries":` or `"tries":` when the member is appended, else empty.
    private let triesPrefix: [UInt8]

    /// The one event grammar, shared by the worker and the bridge: a JSON object (strict RFC
    /// 8259, valid UTF-8, nesting at most `JSONScanner.maxDepth`) of at most `maxBytes` bytes
    /// with a non-empty string `action` and a string `username` (the last of duplicated keys
    /// counts, as in Python's json). `now` (Unix seconds) fills a missing `enqueued_at`.
    public static func parse(_ raw: some Collection<UInt8>, maxBytes: Int, now: Double) throws(EventError) -> Event {
        guard raw.count <= maxBytes else { throw .tooLarge(size: raw.count, limit: maxBytes) }
        return try parse(Array(raw), now: now)
    }

    /// The `tries` member's prefixes, made once (shared by every event that needs one).
    private static let firstTries = Array(#""tries":"#.utf8)
    private static let appendedTries = Array(#","tries":"#.utf8)

    private static func parse(_ raw: [UInt8], now: Double) throws(EventError) -> Event {
        let document: JSONDocument
        do {
            document = try JSONScanner.scan(raw)
        } catch {
            // Report bad encoding in preference to the syntax error it may have caused.
            if !JSONScanner.isValidUTF8(raw) { throw .invalidUTF8 }
            throw .notJSON(error.description)
        }
        guard document.kind == .object else { throw .notAnObject(document.kind) }
        // The last duplicate wins, as in Python's json and most parsers.
        guard let actionMember = document.member("action"), actionMember.kind == .string,
              let action = JSONScanner.decodeString(raw, actionMember.valueRange), !action.isEmpty
        else { throw .missingAction }
        guard let userMember = document.member("username"), userMember.kind == .string,
              let username = JSONScanner.decodeString(raw, userMember.valueRange)
        else { throw .missingUsername }

        var bytes = raw
        var members = document.members
        var closingBrace = document.range.upperBound - 1
        if document.member("enqueued_at") == nil {
            var insertion: [UInt8] = members.isEmpty ? [] : [UInt8(ascii: ",")]
            insertion.append(contentsOf: #""enqueued_at":"#.utf8)
            let keyStart = closingBrace + (members.isEmpty ? 0 : 1)
            let valueStart = closingBrace + insertion.count
            JSONWriter.appendSeconds(now, to: &insertion)
            bytes.insert(contentsOf: insertion, at: closingBrace)
            members.append(JSONMember(key: "enqueued_at", keyRange: keyStart..<(keyStart + 13),
                                      valueRange: valueStart..<(closingBrace + insertion.count), kind: .number))
            closingBrace += insertion.count
        }

        let triesRange: Range<Int>, triesPrefix: [UInt8]
        if let tries = members.last(where: { $0.key == "tries" }) {
            triesRange = tries.valueRange
            triesPrefix = []
        } else {
            triesRange = closingBrace..<closingBrace
            triesPrefix = members.isEmpty ? Self.firstTries : Self.appendedTries
        }
        return Event(bytes: bytes, action: action, username: username, members: members,
                     triesRange: triesRange, triesPrefix: triesPrefix)
    }

    private init(bytes: [UInt8], action: String, username: String, members: [JSONMember],
                 triesRange: Range<Int>, triesPrefix: [UInt8]) {
        self.bytes = bytes
        self.action = action
        self.username = username
        self.members = members
        self.triesRange = triesRange
        self.triesPrefix = triesPrefix
    }

    /// The body for one attempt: `bytes` with `"tries": n` (an existing top-level `tries`
    /// value of any type replaced in place, else appended before the closing brace).
    public func body(tries: Int) -> [UInt8] {
        var out: [UInt8] = []
        body(tries: tries, into: &out)
        return out
    }

    /// `body(tries:)` appended to `out`: the request builder writes it into a buffer a finished
    /// request gave back, so a body costs no allocation of its own.
    public func body(tries: Int, into out: inout [UInt8]) {
        out.reserveCapacity(out.count + bytes.count + triesPrefix.count + 20)
        out.append(contentsOf: bytes[..<triesRange.lowerBound])
        out.append(contentsOf: triesPrefix)
        JSONWriter.appendInt(tries, to: &out)
        out.append(contentsOf: bytes[triesRange.upperBound...])
    }

    /// The raw bytes of the last top-level member named `key`, if any.
    public func member(_ key: String) -> ArraySlice<UInt8>? {
        guard let member = members.last(where: { $0.key == key }) else { return nil }
        return bytes[member.valueRange]
    }

    /// The decoded value of the top-level member `key` when it is a JSON string.
    public func string(_ key: String) -> String? {
        guard let member = members.last(where: { $0.key == key }), member.kind == .string else { return nil }
        return JSONScanner.decodeString(bytes, member.valueRange)
    }
}
