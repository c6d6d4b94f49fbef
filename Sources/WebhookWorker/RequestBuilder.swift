import Foundation
import Logging
import WebhookCore
import WebhookHTTP

/// Turns delivery units into HTTP requests: the wire format of each target kind and mode.
///
/// - Standard mode: one event object per request; `x-webhook-secret` is the hex HMAC of the body
///   (what the seed's Flask receiver verifies) and the Standard Webhooks headers are added.
/// - Marzban mode: the due events for one endpoint batched into one JSON array, with the raw
///   secret in `x-webhook-secret`, exactly as Marzban 0.8.4 sends.
/// - Discord: one embed message per event, and never the secret.
/// - Telegram: one `sendMessage` per event (HTML), and never the secret.
///
/// An endpoint of the endpoints file brings its own secrets (the first signs `x-webhook-secret`,
/// each signs one `v1,` of `webhook-signature`: rotation), compat mode, headers, timeout and
/// proxy; implicit endpoints use the global settings. Ed25519 signing keys (WEBHOOK_SIGNING_KEY
/// or `signing_key`) add one `v1a,` each to `webhook-signature`, after the `v1,` ones.
///
/// Owned by the dispatcher thread (it allocates lanes). A built request's token is 0: the
/// dispatcher sets it to the one the ledger gives when it tracks the request.
struct RequestBuilder {
    typealias Attempt = DeliveryLedger.Attempt

    let secret: String?
    let timeout: Double
    private var lanes: [Target: Int] = [:]
    /// Unix seconds at send time, for `webhook-timestamp` (injected by tests).
    var clock: @Sendable () -> Int = { Int(time(nil)) } {
        didSet { sendHooks.removeAll(); lastHook = nil }
    }
    /// The send hooks made so far (see `sendHook(for:keys:)`), boxed like `connectChecks`.
    private var sendHooks: [HashedKey: StoredHook] = [:]
    private var lastHook: StoredHook?
    private struct StoredHook {
        let target: Target
        let hook: HTTPRequest.SendHook
    }
    /// The addresses requests may connect to (WEBHOOK_EGRESS); set by the dispatcher.
    var egress = EgressPolicy(mode: .off) {
        didSet { connectChecks.removeAll(); lastRoute = nil }
    }
    /// One egress check per endpoint, made once (a closure per request would be an allocation),
    /// with its identity: the check is a pure function of the address, so the HTTP client may
    /// judge a literal host once per check (see `ConnectCheckID`). Made anew with the policy.
    /// Boxed in a struct: a closure stored straight in a dictionary (or in a tuple there) is kept
    /// at the generic abstraction, and reading it back wrapped it in a newly allocated thunk per
    /// request.
    private var connectChecks: [HashedKey: StoredCheck] = [:]
    /// The last request's target with its lane and egress check: a run of requests to one
    /// endpoint (the common case) looks neither up.
    private var lastRoute: (target: Target, lane: Int, check: StoredCheck?)?
    private struct StoredCheck {
        let check: HTTPRequest.ConnectCheck
        let id: ConnectCheckID
    }
    /// Where the one notice about admins' Discord URLs in payloads goes; set by the dispatcher.
    var logger: Logger?
    /// Whether that notice was given (it is given once per process).
    private var adminURLNoticeGiven = false
    /// Spans of attempts and their `traceparent` headers, when tracing is on (nil: nothing is
    /// recorded and no header is sent).
    var tracer: AttemptTracer?
    /// Signing keys per endpoint with secrets of its own, absorbed once.
    private var endpointKeys: [HashedKey: Keys] = [:]
    /// Buffers finished requests gave back (their bodies and header lines; see `recycle`), which
    /// new requests write into.
    private var spareBuffers: [[UInt8]] = []
    /// At most this many spare buffers are kept, each of at most `spareCapacity` bytes: about a
    /// round's requests, so the pool stays small (a larger body is freed, not kept).
    static let spareCount = 1024
    static let spareCapacity = 8192

    /// One endpoint's signing keys: the hex signature's (first secret) and one Standard Webhooks
    /// key per secret.
    private struct Keys {
        let secret: String?
        let hex: PrekeyedHMAC?
        let standard: [PrekeyedHMAC]

        init(secrets: [String]) {
            let secrets = secrets.filter { !$0.isEmpty }
            secret = secrets.first
            hex = secret.map { PrekeyedHMAC(key: Array($0.utf8)) }
            standard = secrets.map { PrekeyedHMAC(key: WebhookSigner.standardKey(for: $0) ?? Array($0.utf8)) }
        }
    }

    /// WEBHOOK_SECRET's keys, absorbed once (see `PrekeyedHMAC`; `WebhookSigner` is the plain
    /// reference its tests compare with): the hex signature's and the Standard Webhooks one's.
    private let hexMAC: PrekeyedHMAC?
    /// WEBHOOK_SECRET's Standard Webhooks key, as the list a request signs with (none or one).
    private let globalStandardMACs: [PrekeyedHMAC]

    /// Which attempts share a request (Marzban mode) is the ledger's rule (`Attempt.batched`):
    /// the builder takes no compat mode of its own, so the two cannot disagree.
    init(secret: String?, timeout: Double) {
        self.secret = (secret?.isEmpty ?? true) ? nil : secret
        hexMAC = self.secret.map { PrekeyedHMAC(key: Array($0.utf8)) }
        globalStandardMACs = self.secret.map { [PrekeyedHMAC(key: WebhookSigner.standardKey(for: $0) ?? Array($0.utf8))] } ?? []
        self.timeout = timeout
    }

    /// The requests built from a list of attempts, and what each carries. Two flat arrays, not
    /// a pair per request: the requests go to the HTTP client as one array (no request copied
    /// out of a pair), and a request that carries one attempt needs no array of its own.
    struct Built {
        var requests: [HTTPRequest] = []
        /// The attempts, in the order of the requests that carry them.
        var attempts: [Attempt] = []
        /// How many of `attempts` each request carries (one, or a Marzban-mode batch).
        var counts: [Int] = []
    }

    /// Builds the requests for `attempts` and the attempts each carries (one, or a Marzban-mode
    /// batch). Signed requests get their `webhook-timestamp` and signature later, when the HTTP
    /// engine sends them (see `standardRequest`).
    mutating func requests(for attempts: [Attempt]) -> Built {
        var out = Built()
        var attempts = attempts
        requests(for: &attempts, into: &out)
        return out
    }

    /// `requests(for:)` into `out`, which must be empty: the dispatcher keeps one `Built` and
    /// its arrays' storage from round to round. A round's arrays are kilobytes (a request is
    /// 168 bytes), and every new allocation of that size made glibc's malloc consolidate the
    /// small chunks freed since.
    /// Without batches `out.attempts` becomes `attempts` itself, which is left holding what
    /// `out.attempts` held (empty): the array is handed on, not copied.
    mutating func requests(for attempts: inout [Attempt], into out: inout Built) {
        out.requests.reserveCapacity(attempts.count)
        out.counts.reserveCapacity(attempts.count)
        // A Marzban-mode batch per endpoint, and per key for an ordered endpoint: a key's
        // claimed deliveries travel together, in their order.
        var batches: [BatchKey: [Attempt]] = [:]
        var batchOrder: [BatchKey] = []
        // Without batches the requests carry the attempts in their order: `attempts` is then
        // handed on whole rather than copied attempt by attempt.
        // By index: `contains(where:)` iterates, and an iterator hands out each attempt copied
        // (a retain and a release of each reference it holds, per delivery).
        let anyBatched = attempts.indices.contains { attempts[$0].batched && attempts[$0].target.kind == .webhook }
        if anyBatched { out.attempts.reserveCapacity(attempts.count) }
        for index in attempts.indices {
            // A standard webhook's attempt (the common case) is read in place; the others are bound.
            if attempts[index].target.kind == .webhook && !attempts[index].batched {
                out.requests.append(standardRequest(target: attempts[index].target, event: attempts[index].event,
                                                    tries: attempts[index].tries, webhookID: attempts[index].webhookID,
                                                    traced: tracer == nil ? nil : attempts[index]))
            } else {
                let unit = attempts[index]
                let event = unit.event
                switch unit.target.kind {
                case .discord:
                    _ = tracer?.begin(unit)  // a span, but no trace header to a third-party service
                    out.requests.append(request(to: unit.target, body: DiscordMessage.body(for: event)))
                case .telegram:
                    _ = tracer?.begin(unit)
                    let chat = unit.target.spec?.telegram?.chatID ?? ""
                    out.requests.append(request(to: unit.target, body: TelegramMessage.body(for: event, chatID: chat)))
                case .webhook:  // batched (Marzban mode)
                    let key = BatchKey(target: unit.target, orderKey: unit.order?.key)
                    if batches[key] == nil { batchOrder.append(key) }
                    batches[key, default: []].append(unit)
                    continue
                }
            }
            if anyBatched { out.attempts.append(attempts[index]) }
            out.counts.append(1)
        }
        for key in batchOrder {
            let batch = batches[key] ?? []
            out.requests.append(marzbanRequest(to: key.target, batch))
            out.attempts.append(contentsOf: batch)
            out.counts.append(batch.count)
        }
        if !anyBatched { swap(&out.attempts, &attempts) }
        // An ordered delivery must not go on the wire once its key's lease could run out
        // before the answer (see `DeliveryLedger.OrderRef.sendBy`). By index: iterating the
        // attempts (as `compactMap` does) copied each one.
        var start = 0
        for index in out.requests.indices {
            var first: Double?
            for at in start..<(start + out.counts[index]) {
                if let by = out.attempts[at].order?.sendBy { first = min(first ?? by, by) }
            }
            start += out.counts[index]
            if let first { out.requests[index].notAfter = first }
        }
    }

    /// The Standard Webhooks request. `webhook-timestamp` and `webhook-signature` (which covers
    /// the timestamp) are added by the request's send hook, on the HTTP thread, at the moment
    /// the request goes on the wire: a request held back by its endpoint's concurrency cap must
    /// not arrive with a stale timestamp that a receiver's replay window rejects.
    /// Takes the attempt's fields rather than the attempt: an array's element passed whole was
    /// copied for the call (a retain and a release of each of its references, per delivery).
    /// `traced` is the attempt itself, for its span, only when tracing.
    private mutating func standardRequest(target: Target, event: Event, tries: Int, webhookID: String,
                                          traced: Attempt?) -> HTTPRequest {
        let body = webhookBody(event: event, tries: tries, target: target)
        // webhook-id, traceparent and x-webhook-secret with their line feeds (`request(to:...)`
        // adds the endpoint's constant lines).
        var lines = HeaderBlock(reusing: spareBuffers.popLast() ?? [],
                                capacity: 100 + target.headerBytes.count + webhookID.utf8.count + (tracer == nil ? 0 : 70))
        lines.appendLine { out in
            out.append(contentsOf: "webhook-id: ".utf8)
            out.append(contentsOf: webhookID.utf8)
        }
        if let tracer, let traced { lines.append("traceparent: " + tracer.begin(traced)) }
        let keys = self.keys(for: target)
        if let hexMAC = keys.map({ $0.hex }) ?? self.hexMAC {
            lines.appendLine { hexMAC.appendHex(prefix: "x-webhook-secret: ", body, to: &$0) }
        }
        return request(to: target, body: body, lines: consume lines, sendID: webhookID,
                       onSend: sendHook(for: target, keys: keys))
    }

    /// The send hook of `target`'s requests: `webhook-timestamp`, then `webhook-signature` over
    /// `<webhook-id>.<timestamp>.<body>` (the request's `sendID` and body) with the endpoint's
    /// keys. One per endpoint, made at its first request: the last endpoint's is reused without
    /// a lookup, the others are found by id (a routed endpoint's destinations share theirs).
    private mutating func sendHook(for target: Target, keys: Keys?) -> HTTPRequest.SendHook {
        if let last = lastHook, last.target === target { return last.hook }
        let stored: StoredHook
        if let found = sendHooks[target.key] {
            stored = found
        } else {
            stored = StoredHook(target: target, hook: Self.makeSendHook(
                standardMACs: keys.map { $0.standard } ?? globalStandardMACs,
                signingKeys: target.spec?.signingKeys ?? [], clock: clock))
            sendHooks[target.key] = stored  // written once per endpoint, not at every request
        }
        lastHook = StoredHook(target: target, hook: stored.hook)
        return stored.hook
    }

    private static func makeSendHook(standardMACs: [PrekeyedHMAC], signingKeys: [AsymmetricSigningKey],
                                     clock: @escaping @Sendable () -> Int) -> HTTPRequest.SendHook {
        { request, headers in
            // The time's digits are written once, into the header, and read back from there for
            // the signed content.
            var digits = 0..<0
            headers.appendLine { out in
                out.append(contentsOf: "webhook-timestamp: ".utf8)
                let start = out.count
                JSONWriter.appendInt(clock(), to: &out)
                digits = start..<out.count
            }
            guard !standardMACs.isEmpty || !signingKeys.isEmpty else { return }
            let body = request.body
            // Signed content: "<webhook-id>.<timestamp>.<body>", the head built on the stack.
            request.sendID.withUTF8Bytes { idBytes in
                withUnsafeTemporaryAllocation(byteCount: idBytes.count + digits.count + 2, alignment: 1) { head in
                    var count = 0
                    func put(_ byte: UInt8) {
                        head[count] = byte
                        count += 1
                    }
                    for byte in idBytes { put(byte) }
                    put(UInt8(ascii: "."))
                    for index in digits { put(headers.bytes[index]) }
                    put(UInt8(ascii: "."))
                    let signed = UnsafeRawBufferPointer(rebasing: head[0..<count])
                    headers.appendLine { line in
                        // One `v1,` signature per secret, space-separated (Standard Webhooks rotation).
                        if let first = standardMACs.first {
                            first.appendBase64(prefix: "webhook-signature: v1,", signed, body, to: &line)
                        } else {
                            line.append(contentsOf: "webhook-signature:".utf8)
                        }
                        for mac in standardMACs.dropFirst() { mac.appendBase64(prefix: " v1,", signed, body, to: &line) }
                        // Then one `v1a,` (Ed25519) per signing key, over the same content.
                        if !signingKeys.isEmpty {
                            let message = Array(signed) + body
                            for key in signingKeys {
                                line.append(contentsOf: " v1a,".utf8)
                                line.append(contentsOf: Data(key.sign(message)).base64EncodedString().utf8)
                            }
                        }
                    }
                }
            }
        }
    }

    private mutating func marzbanRequest(to target: Target, _ batch: [Attempt]) -> HTTPRequest {
        var body: [UInt8] = [UInt8(ascii: "[")]
        for (index, unit) in batch.enumerated() {
            if index > 0 { body.append(UInt8(ascii: ",")) }
            body.append(contentsOf: webhookBody(event: unit.event, tries: unit.tries, target: unit.target))
        }
        body.append(UInt8(ascii: "]"))
        var lines = HeaderBlock()
        if let secret = keys(for: target)?.secret ?? secret { lines.append("x-webhook-secret: \(secret)") }
        if let tracer {
            // One span per event; the request carries the first one's context.
            let contexts = batch.map(tracer.begin)
            lines.append("traceparent: " + contexts[0])
        }
        return request(to: target, body: body, lines: consume lines)
    }

    /// The event as a webhook endpoint gets it: `tries` set, the endpoint's `drop_fields` removed.
    private mutating func webhookBody(event: Event, tries: Int, target: Target) -> [UInt8] {
        var body = spareBuffers.popLast() ?? []
        body.removeAll(keepingCapacity: true)
        event.body(tries: tries, into: &body)
        if let drops = target.spec?.dropFields, !drops.isEmpty { body = DroppedFields.removing(drops, from: body) }
        if !adminURLNoticeGiven { noticeAdminURLs(in: body, to: target) }
        return body
    }

    private static let adminURLField = ByteNeedle(#""discord_webhook":"http"#)

    /// Tells the operator, once, that a generic endpoint receives admins' Discord webhook URLs
    /// (Marzban sends them in `by` and `user.admin`): each is a credential, and `drop_fields`
    /// keeps it from endpoints that do not need it. Only searched until the first notice.
    private mutating func noticeAdminURLs(in body: [UInt8], to target: Target) {
        guard Self.adminURLField.occurs(in: body) else { return }
        adminURLNoticeGiven = true
        logger?.notice("""
            endpoint \(target.name) receives payloads carrying admins' Discord webhook URLs (discord_webhook); \
            they are credentials: add drop_fields: [user.admin.discord_webhook, by.discord_webhook] to endpoints \
            that do not need them (told once)
            """)
    }

    /// Made in one init, not set field by field after it: see `HTTPRequest.init`. `lines` are
    /// this request's own; the lines every request to `target` sends alike
    /// (`Target.headerBytes`) are appended to them.
    private mutating func request(to target: Target, body: [UInt8], lines: consuming HeaderBlock = HeaderBlock(),
                                  sendID: String = "", onSend: HTTPRequest.SendHook? = nil) -> HTTPRequest {
        lines.append(lines: target.headerBytes)
        let lane: Int, check: StoredCheck?
        if let last = lastRoute, last.target === target {
            (lane, check) = (last.lane, last.check)
        } else {
            (lane, check) = (self.lane(for: target), connectCheck(for: target))
            lastRoute = (target, lane, check)
        }
        return HTTPRequest(token: 0, url: target.url, headers: [], lines: lines, body: body, lane: lane,
                           timeout: target.spec?.timeout ?? timeout, onSend: onSend, sendID: sendID, proxy: target.spec?.proxy,
                           connectCheck: check?.check, connectCheckID: check?.id, laneLimit: target.spec?.concurrency)
    }

    private mutating func connectCheck(for target: Target) -> StoredCheck? {
        // A URL taken from the event (`url_from`) is the panel's admins' choice: always judged
        // as WEBHOOK_EGRESS=private, whatever the global mode (WEBHOOK_EGRESS_ALLOW still exempts).
        let fromEvent = Self.urlFromEvent(target)
        guard egress.mode != .off || fromEvent else { return nil }
        if let stored = connectChecks[target.key] { return stored }
        var judged = egress
        if fromEvent { judged.mode = .private }
        let policy = judged, privateOK = !fromEvent && (target.spec?.egressPrivateOK ?? false)
        let check: HTTPRequest.ConnectCheck = { bytes in
            policy.refusal(bytes.count == 4 ? IPAddress(v4: bytes) : IPAddress(v6: bytes), privateOK: privateOK)
        }
        let stored = StoredCheck(check: check, id: ConnectCheckID())
        connectChecks[target.key] = stored
        return stored
    }

    /// Whether `target`'s URL came from the event (a resolved `url_from`), not from the operator.
    static func urlFromEvent(_ target: Target) -> Bool {
        target.destination != nil && target.kind != .telegram
    }

    /// The endpoint's own signing keys, when the endpoints file gives it secrets other than
    /// WEBHOOK_SECRET; nil means the global ones.
    private mutating func keys(for target: Target) -> Keys? {
        // Compared element-wise, not with `secrets != [secret ?? ""]`: that literal is an array
        // on the heap per request unless the optimizer promotes it to the stack, which it stopped
        // doing once `Keys` held the 224-byte `PrekeyedHMAC` inline.
        guard let secrets = target.spec?.secrets, !secrets.isEmpty,
              !(secrets.count == 1 && secrets[0] == (secret ?? "")) else { return nil }
        if let keys = endpointKeys[target.key] { return keys }
        let keys = Keys(secrets: secrets)
        endpointKeys[target.key] = keys
        return keys
    }

    /// Takes back the memory of a finished request's body and header lines for the requests to
    /// come: written into again instead of freed here and allocated again for the next request
    /// (two of the dispatcher's allocations per delivery, and their frees). Their bytes are
    /// overwritten before reuse.
    mutating func recycle(_ request: inout HTTPRequest) {
        guard spareBuffers.count < Self.spareCount - 1 else { return }
        var body: [UInt8] = []
        swap(&body, &request.body)
        keep(body)
        keep(request.lines.takeStorage())
    }

    private mutating func keep(_ buffer: consuming [UInt8]) {
        let capacity = buffer.capacity
        if capacity > 0 && capacity <= Self.spareCapacity { spareBuffers.append(consume buffer) }
    }

    /// Frees the spare buffers (an idle worker gives its memory back).
    mutating func dropSpares() {
        spareBuffers = []
    }

    /// The lane of `target`'s requests, once any was built.
    func existingLane(for target: Target) -> Int? {
        lanes[target]
    }

    private mutating func lane(for target: Target) -> Int {
        if let lane = lanes[target] { return lane }
        let lane = lanes.count
        lanes[target] = lane
        return lane
    }
}

/// A Marzban-mode request's grouping: its endpoint, and the key of an ordered endpoint.
private struct BatchKey: Hashable {
    let target: Target
    let orderKey: String?
}
