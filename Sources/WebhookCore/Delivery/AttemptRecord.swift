import Foundation

/// One entry of the attempt log: what one attempt (or one decision not to send) at one endpoint
/// came to. Written by the worker with the settle of its event, read by `webhook-worker log`
/// and the dashboard.
///
/// Two encodings: `stored()`, a positional JSON array kept in Redis (about a hundred bytes
/// fewer per record than an object, and the time first so a Lua script can read it), and
/// `json()`, the object `log --json` prints. Both are built with `JSONWriter`; `init?(stored:)`
/// reads the first back and refuses anything else (Redis content is not trusted).
public struct AttemptRecord: Sendable, Equatable {
    /// When the attempt ended: Unix milliseconds on Redis's clock as the worker knows it.
    public var time: UInt64
    public var webhookID: String
    public var action: String
    /// The event's `username`; for events without one, its key fields (see `user(of:)`).
    public var user: String
    /// The endpoint's name.
    public var endpoint: String
    /// The try number: 1 for the first attempt. For `held` records, the try it waits to make.
    public var attempt: Int
    public var outcome: AttemptOutcome
    /// The HTTP status, nil when no answer came (or nothing was sent).
    public var status: Int?
    /// Milliseconds from the start of the request to its end, nil when nothing was sent.
    public var latencyMs: Int?
    /// Why it failed: `timeout`, `connect`, `dns`, `tls`, `status` (a non-2xx answer), or
    /// `other`; nil when delivered or when nothing was sent.
    public var errorClass: String?
    /// The first `responseLimit` bytes of the answer's body, endpoint secrets masked.
    public var response: String

    /// Bytes of the response body kept.
    public static let responseLimit = 256
    /// Secrets shorter than this are not masked (they would hide ordinary words).
    public static let maskedLength = 4

    /// How much of an answer `excerpt` searches for `secrets`: a little more than what is kept
    /// (the longest secret's length more), so one cut at the limit cannot leave a secret's start
    /// visible.
    public static func searchedLength(secrets: [String]) -> Int {
        responseLimit + (secrets.map(\.utf8.count).max() ?? 0)
    }

    public init(time: UInt64, webhookID: String, action: String, user: String, endpoint: String, attempt: Int,
                outcome: AttemptOutcome, status: Int? = nil, latencyMs: Int? = nil, errorClass: String? = nil,
                response: String = "") {
        self.time = time
        self.webhookID = webhookID
        self.action = action
        self.user = user
        self.endpoint = endpoint
        self.attempt = attempt
        self.outcome = outcome
        self.status = status
        self.latencyMs = latencyMs
        self.errorClass = errorClass
        self.response = response
    }

    // MARK: Stored form

    /// `[time,"webhook_id","action","user","endpoint",attempt,"outcome",status,latency_ms,"error","response"]`
    /// with `null` for absent values: what the worker writes to Redis.
    public func stored() -> [UInt8] {
        Self.stored(time: time, webhookID: webhookID, action: action, user: user, endpoint: endpoint, attempt: attempt,
                    outcome: outcome, status: status, latencyMs: latencyMs, errorClass: errorClass, response: response)
    }

    /// `stored()` from the fields, without a record: the ledger writes one per delivery, and a
    /// record made for it was copied whole (a retain and release per string) on its way here.
    public static func stored(time: UInt64, webhookID: String, action: String, user: String, endpoint: String,
                              attempt: Int, outcome: AttemptOutcome, status: Int?, latencyMs: Int?, errorClass: String?,
                              response: String) -> [UInt8] {
        response.withUTF8Bytes {
            stored(time: time, webhookID: webhookID, action: action, user: user, endpoint: endpoint, attempt: attempt,
                   outcome: outcome, status: status, latencyMs: latencyMs, errorClass: errorClass, response: $0)
        }
    }

    /// `stored(...)` with the response excerpt as UTF-8 bytes (the ledger's, taken straight from
    /// the answer when `ExcerptMask.plainLength` allows).
    public static func stored(time: UInt64, webhookID: String, action: String, user: String, endpoint: String,
                              attempt: Int, outcome: AttemptOutcome, status: Int?, latencyMs: Int?, errorClass: String?,
                              response: UnsafeBufferPointer<UInt8>) -> [UInt8] {
        webhookID.withUTF8Bytes { id in
            action.withUTF8Bytes { action in
                user.withUTF8Bytes { user in
                    endpoint.withUTF8Bytes { endpoint in
                        outcome.rawValue.withUTF8Bytes { outcome in
                            (errorClass ?? "").withUTF8Bytes { error in
                                StoredFields(time: time, texts: (id, action, user, endpoint), attempt: attempt, outcome: outcome,
                                             status: status, latencyMs: latencyMs,
                                             errorClass: errorClass == nil ? nil : error, response: response).encoded()
                            }
                        }
                    }
                }
            }
        }
    }

    /// A stored record's fields as UTF-8 bytes, written in their order once (`write(to:)`) by
    /// either writer: a record whose texts need no escape (nearly every record) at a pointer into
    /// an array of its size (`RecordCursor`), any other appended with escapes (`RecordAppender`).
    /// Why two: appended field by field (a capacity check, a uniqueness check and a generic copy
    /// per append, about 300 instructions per text) the record was a tenth of the dispatcher's
    /// work per delivery (`benchlib/instructions.py`). Both give the same bytes (`AttemptLogTests`
    /// compares every record with one appended by `JSONWriter`'s primitives).
    private struct StoredFields {
        let time: UInt64
        let texts: (UnsafeBufferPointer<UInt8>, UnsafeBufferPointer<UInt8>, UnsafeBufferPointer<UInt8>,
                    UnsafeBufferPointer<UInt8>)
        let attempt: Int
        let outcome: UnsafeBufferPointer<UInt8>
        let status: Int?
        let latencyMs: Int?
        let errorClass: UnsafeBufferPointer<UInt8>?
        let response: UnsafeBufferPointer<UInt8>

        func write(to out: inout some RecordWriter) {
            let (id, action, user, endpoint) = texts
            out.byte(UInt8(ascii: "["))
            out.number(Int(clamping: time))
            // One by one, not from an array of the four: an array is an allocation per record.
            out.next(id)
            out.next(action)
            out.next(user)
            out.next(endpoint)
            out.next(number: attempt)
            out.next(outcome)
            out.next(number: status)
            out.next(number: latencyMs)
            out.next(errorClass)
            out.next(response)
            out.byte(UInt8(ascii: "]"))
        }

        func encoded() -> [UInt8] {
            let (id, action, user, endpoint) = texts
            // Brackets, 10 commas, 7 pairs of quotes, 4 numbers (or nulls) of at most 20 digits and a sign.
            let plainSize = 2 + 10 + 14 + 4 * 21 + id.count + action.count + user.count + endpoint.count + outcome.count
                + (errorClass?.count ?? 4) + response.count
            guard JSONWriter.isPlain(id), JSONWriter.isPlain(action), JSONWriter.isPlain(user), JSONWriter.isPlain(endpoint),
                  JSONWriter.isPlain(outcome), errorClass.map(JSONWriter.isPlain) ?? true, JSONWriter.isPlain(response)
            else {
                var out = RecordAppender()
                out.bytes.reserveCapacity(plainSize)
                write(to: &out)
                return out.bytes
            }
            // Written on the stack, then copied into an array of its exact length, rather than
            // written in place by `init(unsafeUninitializedCapacity:)` (or into a zeroed array):
            // both allocate through an unspecialized standard-library path that looked the
            // array's type up in the runtime's metadata cache at every record (about 300
            // instructions; the copy of a record is a tenth of that).
            return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: plainSize) { buffer in
                var out = RecordCursor(at: buffer.baseAddress!)
                write(to: &out)
                return Array(UnsafeBufferPointer(rebasing: buffer[..<buffer.baseAddress!.distance(to: out.at)]))
            }
        }
    }

    /// Where `StoredFields.write` puts a record's parts; a nil text or number is `null`.
    fileprivate protocol RecordWriter {
        mutating func byte(_ value: UInt8)
        mutating func string(_ text: UnsafeBufferPointer<UInt8>?)
        mutating func number(_ value: Int?)
    }

    /// Appends with escapes, for a record some text of which needs one.
    private struct RecordAppender: RecordWriter {
        var bytes: [UInt8] = []

        mutating func byte(_ value: UInt8) {
            bytes.append(value)
        }

        mutating func string(_ text: UnsafeBufferPointer<UInt8>?) {
            if let text { JSONWriter.appendString(bytes: text, to: &bytes) } else { bytes.append(contentsOf: null) }
        }

        mutating func number(_ value: Int?) {
            append(value, to: &bytes)
        }
    }

    /// Writes a plain record at a pointer, into memory of its size (see `StoredFields`). A struct
    /// passed `inout`, not nested functions sharing a captured position: those were checked for
    /// exclusive access at run time at every byte.
    private struct RecordCursor: RecordWriter {
        var at: UnsafeMutablePointer<UInt8>

        mutating func byte(_ value: UInt8) {
            at.pointee = value
            at += 1
        }

        mutating func string(_ text: UnsafeBufferPointer<UInt8>?) {
            guard let text else { return null() }
            byte(UInt8(ascii: "\""))
            if let base = text.baseAddress {
                at.update(from: base, count: text.count)
                at += text.count
            }
            byte(UInt8(ascii: "\""))
        }

        mutating func null() {
            for letter in "null".utf8 { byte(letter) }
        }

        mutating func number(_ value: Int?) {
            guard let value else { return null() }
            if value < 0 { byte(UInt8(ascii: "-")) }
            var magnitude = value.magnitude, digits = 1
            while magnitude >= 10 {
                magnitude /= 10
                digits += 1
            }
            magnitude = value.magnitude
            var index = digits - 1
            repeat {
                at[index] = UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: magnitude % 10)
                magnitude /= 10
                index -= 1
            } while index >= 0
            at += digits
        }
    }

    /// Reads `stored()`'s form back; nil for anything else.
    public init?(stored bytes: [UInt8]) {
        guard let document = try? JSONScanner.scan(bytes), document.kind == .array, document.elements.count == 11 else { return nil }
        let e = document.elements
        func string(_ i: Int) -> String? { JSONScanner.decodeString(bytes, e[i]) }
        func integer(_ i: Int) -> Int? { Int(String(decoding: bytes[e[i]], as: UTF8.self)) }
        func isNull(_ i: Int) -> Bool { bytes[e[i]].elementsEqual(Self.null) }
        guard let time = UInt64(String(decoding: bytes[e[0]], as: UTF8.self)),
              let webhookID = string(1), let action = string(2), let user = string(3), let endpoint = string(4),
              let attempt = integer(5), let outcomeText = string(6), let outcome = AttemptOutcome(rawValue: outcomeText),
              isNull(7) || integer(7) != nil, isNull(8) || integer(8) != nil, isNull(9) || string(9) != nil,
              let response = string(10)
        else { return nil }
        self.init(time: time, webhookID: webhookID, action: action, user: user, endpoint: endpoint, attempt: attempt,
                  outcome: outcome, status: integer(7), latencyMs: integer(8), errorClass: string(9), response: response)
    }

    // MARK: Shown forms

    /// One JSON object (no newline): what `log --json` prints per line.
    /// Keys: time (Unix ms), time_iso, webhook_id, action, user, endpoint, attempt, outcome,
    /// status, latency_ms, error, response.
    public func json() -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(200 + response.utf8.count)
        out.append(contentsOf: #"{"time":"#.utf8)
        JSONWriter.appendInt(Int(clamping: time), to: &out)
        out.append(contentsOf: #","time_iso":"#.utf8)
        JSONWriter.appendString(isoTime, to: &out)
        for (key, text) in [("webhook_id", webhookID), ("action", action), ("user", user), ("endpoint", endpoint)] {
            out.append(contentsOf: ",\"\(key)\":".utf8)
            JSONWriter.appendString(text, to: &out)
        }
        out.append(contentsOf: #","attempt":"#.utf8)
        JSONWriter.appendInt(attempt, to: &out)
        out.append(contentsOf: #","outcome":"#.utf8)
        JSONWriter.appendString(outcome.rawValue, to: &out)
        out.append(contentsOf: #","status":"#.utf8)
        Self.append(status, to: &out)
        out.append(contentsOf: #","latency_ms":"#.utf8)
        Self.append(latencyMs, to: &out)
        out.append(contentsOf: #","error":"#.utf8)
        if let errorClass { JSONWriter.appendString(errorClass, to: &out) } else { out.append(contentsOf: Self.null) }
        out.append(contentsOf: #","response":"#.utf8)
        JSONWriter.appendString(response, to: &out)
        out.append(UInt8(ascii: "}"))
        return out
    }

    /// One line for people: time, outcome, endpoint, action, user, try, status or error,
    /// latency, webhook-id, and the response excerpt (control characters escaped, so a
    /// producer's or receiver's text cannot start a line of its own).
    public var line: String {
        var parts = [isoTime, outcome.rawValue, endpoint, action, user.isEmpty ? "-" : user, "try \(attempt)"]
        if let status { parts.append(String(status)) } else { parts.append(errorClass ?? "-") }
        parts.append(latencyMs.map { "\($0)ms" } ?? "-")
        parts.append(webhookID)
        var out = parts.map(Self.oneLine).joined(separator: "  ")
        if !response.isEmpty {
            var quoted: [UInt8] = []
            JSONWriter.appendString(response, to: &quoted)
            out += "  " + String(decoding: quoted, as: UTF8.self)
        }
        return out
    }

    /// `time` as ISO 8601 UTC with milliseconds, e.g. `2026-12-03T11:34:02.123Z`.
    public var isoTime: String {
        let seconds = time / 1000, millis = Int(time % 1000)
        var tm = tm()
        var t = time_t(Int(clamping: seconds))
        gmtime_r(&t, &tm)
        return String(format: "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", Int(tm.tm_year) + 1900, Int(tm.tm_mon) + 1, Int(tm.tm_mday),
                      Int(tm.tm_hour), Int(tm.tm_min), Int(tm.tm_sec), millis)
    }

    // MARK: Building

    /// The `user` of a record for `event`: its username, or for an event without one (a
    /// non-Marzban producer's), its key fields: `id`, `key`, `email`, `name`, `subject` where
    /// present (as `key=value`, comma-separated); empty when it has none of them.
    public static func user(of event: Event) -> String {
        if !event.username.isEmpty { return event.username }
        var fields: [String] = []
        for key in keyFields {
            guard let member = event.members.last(where: { $0.key == key }) else { continue }
            let value: String
            switch member.kind {
            case .string: value = JSONScanner.decodeString(event.bytes, member.valueRange) ?? ""
            case .number: value = String(decoding: event.bytes[member.valueRange], as: UTF8.self)
            default: continue
            }
            fields.append("\(key)=\(value)")
        }
        return fields.joined(separator: ",")
    }

    /// Fields that name what a non-Marzban event is about, in the order they are shown.
    public static let keyFields = ["id", "key", "email", "name", "subject"]

    /// The first `responseLimit` bytes of `body` as text, each of `secrets` (4 bytes or longer)
    /// replaced by `***`: a receiver may echo a header or an error naming a token.
    public static func excerpt(_ body: [UInt8], secrets: [String]) -> String {
        guard !body.isEmpty else { return "" }
        var text = String(decoding: body.prefix(searchedLength(secrets: secrets)), as: UTF8.self)
        for secret in secrets where secret.utf8.count >= maskedLength {
            text = text.replacingOccurrences(of: secret, with: "***")
        }
        var kept = Array(text.utf8.prefix(responseLimit))
        // Do not end inside a UTF-8 sequence.
        if let lead = kept.lastIndex(where: { $0 & 0xC0 != 0x80 }), kept[lead] >= 0xC0 {
            let length = kept[lead] >= 0xF0 ? 4 : kept[lead] >= 0xE0 ? 3 : 2
            if lead + length > kept.count { kept.removeSubrange(lead...) }
        }
        return String(decoding: kept, as: UTF8.self)
    }

    private static let null: [UInt8] = Array("null".utf8)

    private static func append(_ value: Int?, to out: inout [UInt8]) {
        if let value { JSONWriter.appendInt(value, to: &out) } else { out.append(contentsOf: null) }
    }

    private static func oneLine(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) else { return text }
        var quoted: [UInt8] = []
        JSONWriter.appendString(text, to: &quoted)
        return String(decoding: quoted, as: UTF8.self)
    }
}

extension AttemptRecord.RecordWriter {
    /// A comma, then the record's next field.
    fileprivate mutating func next(_ text: UnsafeBufferPointer<UInt8>?) {
        byte(UInt8(ascii: ","))
        string(text)
    }

    fileprivate mutating func next(number value: Int?) {
        byte(UInt8(ascii: ","))
        number(value)
    }
}
