/// One finished span, as the OTLP exporter sends it: a delivery attempt.
public struct SpanRecord: Sendable {
    /// An attribute value: OTLP's `stringValue` or `intValue`.
    public enum Value: Sendable, Equatable {
        case string(String)
        case int(Int)
    }

    public var context: TraceContext
    /// The producer's span, when the event carried a `traceparent`.
    public var parentSpanID: UInt64?
    public var name: String
    public var startNanos: UInt64
    public var endNanos: UInt64
    public var attributes: [(String, Value)]
    /// Set for an attempt that did not deliver: OTLP's status code ERROR with this message.
    public var error: String?

    public init(context: TraceContext, parentSpanID: UInt64?, name: String, startNanos: UInt64, endNanos: UInt64,
                attributes: [(String, Value)], error: String?) {
        self.context = context
        self.parentSpanID = parentSpanID
        self.name = name
        self.startNanos = startNanos
        self.endNanos = endNanos
        self.attributes = attributes
        self.error = error
    }
}
