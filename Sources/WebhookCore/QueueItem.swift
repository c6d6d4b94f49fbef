/// The three kinds of item that travel through the queue, processing lists and delayed set
/// (see docs/ARCHITECTURE.md, "Queue items"):
///
/// - a raw event: the producer's bytes, as `LPUSH`ed;
/// - a tagged event: `#<tag> <raw event>`, tagged by the take script;
/// - a delivery: `@<webhook-id> <tries> <w|d> <url> <raw event>`.
public enum QueueItem: Sendable, Equatable {
    /// A raw (`tag == nil`) or tagged event.
    case event(tag: String?, raw: ArraySlice<UInt8>)
    /// A retry of one event to one target.
    case delivery(Delivery)

    /// Parses a stored item. Never fails: anything that is not a well-formed tagged event or
    /// delivery is a raw event, so a malformed item ends as a dead letter rather than lost.
    public init(parsing bytes: [UInt8]) {
        self = Self.parseTagged(bytes) ?? Self.parseDelivery(bytes) ?? .event(tag: nil, raw: bytes[...])
    }

    /// The stored form of the item.
    public func encoded() -> [UInt8] {
        switch self {
        case .event(nil, let raw):
            return Array(raw)
        case .event(let tag?, let raw):
            var out: [UInt8] = [UInt8(ascii: "#")]
            out.reserveCapacity(tag.utf8.count + raw.count + 2)
            out.append(contentsOf: tag.utf8)
            out.append(UInt8(ascii: " "))
            out.append(contentsOf: raw)
            return out
        case .delivery(let delivery):
            var out: [UInt8] = [UInt8(ascii: "@")]
            out.reserveCapacity(delivery.webhookID.utf8.count + delivery.target.url.utf8.count + delivery.raw.count + 32)
            out.append(contentsOf: delivery.webhookID.utf8)
            out.append(UInt8(ascii: " "))
            JSONWriter.appendInt(delivery.tries, to: &out)
            out.append(UInt8(ascii: " "))
            out.append(contentsOf: delivery.target.kind.rawValue.utf8)
            out.append(UInt8(ascii: " "))
            out.append(contentsOf: delivery.target.url.utf8)
            out.append(UInt8(ascii: " "))
            out.append(contentsOf: delivery.raw)
            return out
        }
    }

    /// The `webhook-id` of one event for one target: `msg_<tag>_<8 hex digits>`, the digits
    /// being the FNV-1a 32-bit hash of the kind letter followed by the URL.
    public static func webhookID(tag: String, target: Target) -> String {
        var hash: UInt32 = 2_166_136_261
        for byte in target.kind.rawValue.utf8 { hash = (hash ^ UInt32(byte)) &* 16_777_619 }
        for byte in target.url.utf8 { hash = (hash ^ UInt32(byte)) &* 16_777_619 }
        let hex = String(hash, radix: 16)
        return "msg_\(tag)_" + String(repeating: "0", count: 8 - hex.count) + hex
    }

    // MARK: Parsing

    private static func parseTagged(_ bytes: [UInt8]) -> QueueItem? {
        guard bytes.first == UInt8(ascii: "#"), let space = bytes.firstIndex(of: UInt8(ascii: " ")), space > 1,
              let tag = token(bytes[1..<space])
        else { return nil }
        return .event(tag: tag, raw: bytes[(space + 1)...])
    }

    private static func parseDelivery(_ bytes: [UInt8]) -> QueueItem? {
        guard bytes.first == UInt8(ascii: "@") else { return nil }
        var fields: [ArraySlice<UInt8>] = []
        var start = 1
        // Four space-terminated fields, then the raw event (which may contain spaces).
        while fields.count < 4 {
            guard let space = bytes[start...].firstIndex(of: UInt8(ascii: " ")) else { return nil }
            fields.append(bytes[start..<space])
            start = space + 1
        }
        guard let id = token(fields[0]),
              fields[1].count <= 9, !fields[1].isEmpty, fields[1].allSatisfy({ $0 &- UInt8(ascii: "0") < 10 }),
              let tries = Int(String(decoding: fields[1], as: UTF8.self)),
              let kind = TargetKind(rawValue: String(decoding: fields[2], as: UTF8.self)),
              let url = token(fields[3])
        else { return nil }
        let target = Target(kind: kind, url: url)
        return .delivery(Delivery(webhookID: id, tries: tries, target: target, raw: Array(bytes[start...])))
    }

    /// A non-empty run without spaces or control characters, as tags, ids and URLs are.
    private static func token(_ bytes: ArraySlice<UInt8>) -> String? {
        guard !bytes.isEmpty, bytes.allSatisfy({ $0 > 0x20 && $0 != 0x7F }) else { return nil }
        return String(decoding: bytes, as: UTF8.self)
    }
}
