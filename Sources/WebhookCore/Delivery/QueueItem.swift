/// The kinds of item that travel through the queue, processing lists and delayed set
/// (see docs/ARCHITECTURE.md, "Queue items"):
///
/// - a raw event: the producer's bytes, as `LPUSH`ed;
/// - a tagged event: `#<tag> <raw event>`, tagged by the take script;
/// - a delivery: `@<mac> <webhook-id> <tries> <target-id>:<url-fingerprint> <rate-limits>.<held-since>.<slot> <raw event>`,
///   where `<mac>` authenticates everything after it (`ItemAuthenticator`); `<held-since>` and
///   `<slot>` are milliseconds of Redis time, 0 for none (see `Delivery`). Items of earlier
///   releases have a bare `<target-id>` (no fingerprint) and `<rate-limits>.<seconds waited>`:
///   the latter read as never held, so their hold clock restarts.
///
/// Any of them may carry `!<n> ` in front: the number of times a worker holding it died
/// (added by the reap script, see `WEBHOOK_MAX_CRASHES`).
public enum QueueItem: Sendable, Equatable {
    /// A raw (`tag == nil`) or tagged event.
    case event(tag: ArraySlice<UInt8>?, raw: ArraySlice<UInt8>)
    /// One event for one target.
    case delivery(Delivery)
    /// Looks like a delivery but its MAC does not verify: written by someone without the key
    /// (a producer), or by workers configured with another key. Never delivered.
    case forged

    /// Parses a stored item. Never fails: anything that is not a well-formed tagged event or
    /// delivery is a raw event, so a malformed item ends as a dead letter rather than lost.
    /// - Returns: the item and how many holders of it died.
    public static func parse(_ bytes: [UInt8], authenticator: ItemAuthenticator) -> (item: QueueItem, crashes: Int) {
        var start = bytes.startIndex
        var crashes = 0
        if bytes.first == UInt8(ascii: "!"), let space = bytes.firstIndex(of: UInt8(ascii: " ")),
           let count = decimal(bytes[1..<space]) {
            crashes = count
            start = space + 1
        }
        let rest = bytes[start...]
        if let tagged = parseTagged(rest) { return (tagged, crashes) }
        if rest.first == UInt8(ascii: "@") { return (parseDelivery(rest, authenticator) ?? .forged, crashes) }
        return (.event(tag: nil, raw: rest), crashes)
    }

    /// The stored form of a delivery, MAC first.
    public static func encode(_ delivery: Delivery, authenticator: ItemAuthenticator) -> [UInt8] {
        var body: [UInt8] = []
        body.reserveCapacity(delivery.webhookID.utf8.count + delivery.targetID.utf8.count + delivery.raw.count + 48)
        body.append(contentsOf: delivery.webhookID.utf8)
        body.append(UInt8(ascii: " "))
        JSONWriter.appendInt(delivery.tries, to: &body)
        body.append(UInt8(ascii: " "))
        body.append(contentsOf: delivery.targetID.utf8)
        if let fingerprint = delivery.urlFingerprint {
            body.append(UInt8(ascii: ":"))
            body.append(contentsOf: fingerprint.utf8)
        }
        body.append(UInt8(ascii: " "))
        JSONWriter.appendInt(delivery.rateLimits, to: &body)
        body.append(UInt8(ascii: "."))
        JSONWriter.appendInt(milliseconds(delivery.heldSince), to: &body)
        body.append(UInt8(ascii: "."))
        JSONWriter.appendInt(milliseconds(delivery.slot), to: &body)
        body.append(UInt8(ascii: " "))
        body.append(contentsOf: delivery.raw)
        var out: [UInt8] = [UInt8(ascii: "@")]
        out.reserveCapacity(body.count + 2 * ItemAuthenticator.macBytes + 2)
        out.append(contentsOf: authenticator.mac(body))
        out.append(UInt8(ascii: " "))
        out.append(contentsOf: body)
        return out
    }

    // MARK: Parsing

    private static func parseTagged(_ bytes: ArraySlice<UInt8>) -> QueueItem? {
        guard bytes.first == UInt8(ascii: "#"), let space = bytes.firstIndex(of: UInt8(ascii: " ")),
              space > bytes.startIndex + 1, isToken(bytes[(bytes.startIndex + 1)..<space])
        else { return nil }
        return .event(tag: bytes[(bytes.startIndex + 1)..<space], raw: bytes[(space + 1)...])
    }

    private static func parseDelivery(_ bytes: ArraySlice<UInt8>, _ authenticator: ItemAuthenticator) -> QueueItem? {
        var fields: [ArraySlice<UInt8>] = []
        var start = bytes.startIndex + 1
        // Five space-terminated fields, then the raw event (which may contain spaces).
        while fields.count < 5 {
            guard let space = bytes[start...].firstIndex(of: UInt8(ascii: " ")) else { return nil }
            fields.append(bytes[start..<space])
            start = space + 1
        }
        let signed = bytes[(fields[0].endIndex + 1)...]
        guard authenticator.verify(mac: fields[0], of: signed) else { return nil }
        let limits = fields[4].split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
        guard isToken(fields[1]), isToken(fields[3]), let tries = decimal(fields[2]),
              limits.count == 2 || limits.count == 3, let rateLimits = decimal(limits[0]),
              let since = decimal(limits[1], maxDigits: 15), let slot = limits.count == 3 ? decimal(limits[2], maxDigits: 15) : 0
        else { return nil }
        let held = limits.count == 3 ? Double(since) / 1000 : 0
        // `<target-id>:<url-fingerprint>`, or a bare id in items of earlier releases.
        var targetID = fields[3][...], fingerprint: String?
        if let colon = targetID.firstIndex(of: UInt8(ascii: ":")) {
            guard colon > targetID.startIndex, colon + 1 < targetID.endIndex else { return nil }
            fingerprint = String(decoding: targetID[(colon + 1)...], as: UTF8.self)
            targetID = targetID[..<colon]
        }
        return .delivery(Delivery(webhookID: String(decoding: fields[1], as: UTF8.self), tries: tries,
                                  targetID: String(decoding: targetID, as: UTF8.self), urlFingerprint: fingerprint,
                                  rateLimits: rateLimits, heldSince: held, slot: Double(slot) / 1000, raw: bytes[start...]))
    }

    /// Unix seconds as whole milliseconds, for the item's text.
    private static func milliseconds(_ seconds: Double) -> Int {
        seconds > 0 && seconds.isFinite ? Int((seconds * 1000).rounded()) : 0
    }

    /// 1 to `maxDigits` ASCII digits.
    static func decimal(_ bytes: ArraySlice<UInt8>, maxDigits: Int = 9) -> Int? {
        guard !bytes.isEmpty, bytes.count <= maxDigits, bytes.allSatisfy({ $0 &- UInt8(ascii: "0") < 10 }) else { return nil }
        return bytes.reduce(0) { $0 * 10 + Int($1 - UInt8(ascii: "0")) }
    }

    /// A non-empty run without spaces or control characters, as tags and ids are.
    private static func isToken(_ bytes: ArraySlice<UInt8>) -> Bool {
        !bytes.isEmpty && bytes.allSatisfy({ $0 > 0x20 && $0 != 0x7F })
    }
}
