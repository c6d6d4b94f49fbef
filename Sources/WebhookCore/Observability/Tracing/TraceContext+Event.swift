extension TraceContext {
    /// `event` (one JSON object, as the bridge received it) with a top-level `traceparent` member
    /// added before its closing brace, unless it already has one (the producer's own field wins).
    ///
    /// Why the bridge writes the header into the event: the event is all that travels through
    /// Redis to the worker, and a field is what any producer that `LPUSH`es sets for itself.
    /// `traceparent` must be valid (`TraceContext(traceparent:)`); anything else is not added.
    public static func adding(_ traceparent: String, to event: [UInt8]) -> [UInt8] {
        guard TraceContext(traceparent: traceparent) != nil,
              let document = try? JSONScanner.scan(event), document.kind == .object,
              document.member("traceparent") == nil
        else { return event }
        let closingBrace = document.range.upperBound - 1
        var insertion: [UInt8] = document.members.isEmpty ? [] : [UInt8(ascii: ",")]
        insertion.append(contentsOf: #""traceparent":"#.utf8)
        JSONWriter.appendString(traceparent, to: &insertion)
        var out = event
        out.insert(contentsOf: insertion, at: closingBrace)
        return out
    }
}
