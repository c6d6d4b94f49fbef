/// A W3C Trace Context position: which trace a span belongs to, the span's own id and the
/// sampling flag, as the `traceparent` header spells them
/// (`00-<32 hex trace id>-<16 hex span id>-<2 hex flags>`).
///
/// Producers put it in an event's top-level `traceparent` field (or the bridge's request
/// header), so a delivery attempt's span joins the producer's trace; the worker sends its own
/// in the `traceparent` request header, so the receiver's spans join too.
public struct TraceContext: Sendable, Equatable {
    /// The trace id's two halves, big-endian (the first 8 bytes are `high`).
    public let traceHigh: UInt64
    public let traceLow: UInt64
    public let spanID: UInt64
    /// The trace flags; bit 0 is `sampled`.
    public let flags: UInt8

    public var isSampled: Bool { flags & 1 == 1 }

    public init(traceHigh: UInt64, traceLow: UInt64, spanID: UInt64, flags: UInt8) {
        self.traceHigh = traceHigh
        self.traceLow = traceLow
        self.spanID = spanID
        self.flags = flags
    }

    /// Parses a `traceparent` value as W3C Trace Context level 1 does: version `00` is exactly 55
    /// characters; a later version may carry more after a `-`, and its first four fields are read
    /// as version 00's. Lowercase hex only; an all-zero trace or span id, or version `ff`, is
    /// invalid. Nil when invalid: the attempt then starts a trace of its own.
    public init?(traceparent text: String) {
        let bytes = Array(text.utf8)
        guard bytes.count >= 55,
              let version = Self.hex(bytes[0..<2]), version != 0xFF,
              bytes[2] == UInt8(ascii: "-"), bytes[35] == UInt8(ascii: "-"), bytes[52] == UInt8(ascii: "-"),
              let high = Self.hex(bytes[3..<19]), let low = Self.hex(bytes[19..<35]),
              let span = Self.hex(bytes[36..<52]), let flags = Self.hex(bytes[53..<55]),
              high != 0 || low != 0, span != 0
        else { return nil }
        if version == 0 { guard bytes.count == 55 else { return nil } }
        else if bytes.count > 55 { guard bytes[55] == UInt8(ascii: "-") else { return nil } }
        self.init(traceHigh: high, traceLow: low, spanID: span, flags: UInt8(flags))
    }

    /// A new span of this trace: same trace id and flags, a fresh span id.
    public func child(using random: inout some RandomNumberGenerator) -> TraceContext {
        TraceContext(traceHigh: traceHigh, traceLow: traceLow, spanID: Self.nonZero(&random), flags: flags)
    }

    /// The first span of a new trace, sampled.
    public static func root(using random: inout some RandomNumberGenerator) -> TraceContext {
        TraceContext(traceHigh: random.next(), traceLow: nonZero(&random), spanID: nonZero(&random), flags: 1)
    }

    /// The `traceparent` header value, version 00.
    public var traceparent: String { "00-" + traceIDHex + "-" + spanIDHex + "-" + Self.hexDigits(UInt64(flags), count: 2) }

    /// 32 lowercase hex digits: the form OTLP's JSON encoding uses.
    public var traceIDHex: String { Self.hexDigits(traceHigh, count: 16) + Self.hexDigits(traceLow, count: 16) }

    /// 16 lowercase hex digits.
    public var spanIDHex: String { Self.hexDigits(spanID, count: 16) }

    static func hexDigits(_ value: UInt64, count: Int) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: count - digits.count) + digits
    }

    /// Lowercase hex digits to a number; nil for anything else (uppercase included, as the
    /// specification requires).
    private static func hex(_ bytes: ArraySlice<UInt8>) -> UInt64? {
        var value: UInt64 = 0
        for byte in bytes {
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            default: return nil
            }
            value = value << 4 | UInt64(digit)
        }
        return value
    }

    private static func nonZero(_ random: inout some RandomNumberGenerator) -> UInt64 {
        while true {
            let value: UInt64 = random.next()
            if value != 0 { return value }
        }
    }
}
