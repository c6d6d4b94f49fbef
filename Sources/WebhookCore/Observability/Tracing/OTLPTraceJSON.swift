/// Encodes spans as an OTLP/HTTP JSON `ExportTraceServiceRequest` (the body of
/// `POST <endpoint>/v1/traces` with `Content-Type: application/json`).
///
/// Why by hand and not swift-otel: its exporters bring gRPC and protobuf code into a cold build
/// that takes minutes longer, for one message type whose JSON form is a few dozen lines; this
/// writer uses the core's one JSON escaper and the worker's existing libcurl client.
///
/// OTLP's JSON mapping differs from protobuf's in two ways that matter here: trace and span ids
/// are hex strings (not base64), and 64-bit integers (the nanosecond times, `intValue`) are
/// decimal strings.
public enum OTLPTraceJSON {
    /// `SPAN_KIND_CLIENT`: the worker calls the endpoint.
    static let clientKind = 3
    /// `STATUS_CODE_ERROR`.
    static let errorStatus = 2

    /// - Parameters:
    ///   - resource: resource attributes (`service.name` first).
    ///   - scope: the instrumentation scope's name.
    public static func encode(_ spans: [SpanRecord], resource: [(String, String)], scope: String) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(256 + spans.count * 512)
        out.append(contentsOf: #"{"resourceSpans":[{"resource":{"attributes":["#.utf8)
        for (index, (key, value)) in resource.enumerated() {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            appendAttribute(key, .string(value), to: &out)
        }
        out.append(contentsOf: #"]},"scopeSpans":[{"scope":{"name":"#.utf8)
        JSONWriter.appendString(scope, to: &out)
        out.append(contentsOf: #"},"spans":["#.utf8)
        for (index, span) in spans.enumerated() {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            appendSpan(span, to: &out)
        }
        out.append(contentsOf: "]}]}]}".utf8)
        return out
    }

    private static func appendSpan(_ span: SpanRecord, to out: inout [UInt8]) {
        out.append(contentsOf: #"{"traceId":""#.utf8)
        out.append(contentsOf: span.context.traceIDHex.utf8)
        out.append(contentsOf: #"","spanId":""#.utf8)
        out.append(contentsOf: span.context.spanIDHex.utf8)
        out.append(UInt8(ascii: "\""))
        if let parent = span.parentSpanID {
            out.append(contentsOf: #","parentSpanId":""#.utf8)
            out.append(contentsOf: TraceContext.hexDigits(parent, count: 16).utf8)
            out.append(UInt8(ascii: "\""))
        }
        out.append(contentsOf: #","flags":"#.utf8)
        JSONWriter.appendInt(Int(span.context.flags), to: &out)
        out.append(contentsOf: #","name":"#.utf8)
        JSONWriter.appendString(span.name, to: &out)
        out.append(contentsOf: #","kind":"#.utf8)
        JSONWriter.appendInt(clientKind, to: &out)
        out.append(contentsOf: #","startTimeUnixNano":""#.utf8)
        out.append(contentsOf: String(span.startNanos).utf8)
        out.append(contentsOf: #"","endTimeUnixNano":""#.utf8)
        out.append(contentsOf: String(span.endNanos).utf8)
        out.append(contentsOf: #"","attributes":["#.utf8)
        for (index, (key, value)) in span.attributes.enumerated() {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            appendAttribute(key, value, to: &out)
        }
        out.append(UInt8(ascii: "]"))
        if let error = span.error {
            out.append(contentsOf: #","status":{"code":"#.utf8)
            JSONWriter.appendInt(errorStatus, to: &out)
            out.append(contentsOf: #","message":"#.utf8)
            JSONWriter.appendString(error, to: &out)
            out.append(UInt8(ascii: "}"))
        }
        out.append(UInt8(ascii: "}"))
    }

    private static func appendAttribute(_ key: String, _ value: SpanRecord.Value, to out: inout [UInt8]) {
        out.append(contentsOf: #"{"key":"#.utf8)
        JSONWriter.appendString(key, to: &out)
        switch value {
        case .string(let text):
            out.append(contentsOf: #","value":{"stringValue":"#.utf8)
            JSONWriter.appendString(text, to: &out)
        case .int(let number):
            out.append(contentsOf: #","value":{"intValue":""#.utf8)
            JSONWriter.appendInt(number, to: &out)
            out.append(UInt8(ascii: "\""))
        }
        out.append(contentsOf: "}}".utf8)
    }
}
