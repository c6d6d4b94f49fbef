extension QueueItem {
    /// The `enqueued_at` (Unix seconds, the producer's clock) of the event inside a queue item
    /// of any form (raw, tagged, a delivery, crash-marked); nil when it has none or is not an
    /// event. For the age of the oldest queued item: it reads, it does not authenticate (a
    /// producer could write any time here; the gauge only reports it).
    public static func enqueuedAt(_ bytes: [UInt8]) -> Double? {
        // Every prefix (`!<n> `, `#<tag> `, `@<mac> <id> <tries> <target> <limits> `) is made of
        // words without braces: the event starts at the first `{`.
        guard let start = bytes.firstIndex(of: UInt8(ascii: "{")) else { return nil }
        let json = Array(bytes[start...])
        guard let document = try? JSONScanner.scan(json), document.kind == .object,
              let member = document.member("enqueued_at"), member.kind == .number else { return nil }
        let text = String(decoding: json[member.valueRange], as: UTF8.self)
        guard let seconds = Double(text), seconds.isFinite, seconds > 0 else { return nil }
        return seconds
    }
}
