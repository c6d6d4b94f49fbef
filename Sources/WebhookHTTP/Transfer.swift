import CCurl
import CCurlShim
import Glibc

/// One long-lived curl easy handle and the state of the request it currently runs.
///
/// Reusing the handle keeps curl's per-handle caches (DNS, TLS session) warm, and the options that
/// never change are set only once. Owned and touched only by the curl thread.
///
/// The status decides: once a final status line and its headers are complete, the answer stands.
/// The body after it is read only up to `maxResponseBody` bytes and for `bodyWindow` seconds (the
/// window starts at the endpoint's own answer, never at a proxy's `200 Connection established`); then
/// the transfer is ended and reported with its status (`bodyCut`), not as a transport error, so a
/// receiver that took a delivery but sends its body slowly is not retried.
final class Transfer {
    /// The response body kept per request: enough for Discord's 429 JSON and error pages.
    static let maxResponseBody = 64 * 1024
    /// How long the body may take after the headers, in nanoseconds (1 s).
    static let bodyWindowNanos: UInt64 = 1_000_000_000
    /// Grown body buffers larger than this are released after the request, so one huge event does
    /// not pin memory in every handle.
    private static let keptBodyCapacity = 256 * 1024
    private static let expectOff = Array("Expect:".utf8)  // an empty Expect turns off 100-continue
    /// Bodies up to this size stay in the request handed back with the response.
    private static let heldBodyLimit = 16 * 1024

    let easy: UnsafeMutableRawPointer
    private(set) var token: UInt64 = 0
    private(set) var lane: Int = 0
    /// Index in the loop's running list while the transfer is running, else -1.
    var slot = -1
    /// When the final response's headers were complete (monotonic ns), while its body is read;
    /// the loop ends transfers whose body outlasts `bodyWindowNanos`.
    private(set) var bodySince: UInt64?

    /// The running request, kept to be handed back in its response (see `HTTPResponse.request`).
    private var request: HTTPRequest?
    private var bodyBuffer: UnsafeMutableRawPointer?
    private var bodyCapacity = 0
    private let headerLines = HeaderLines()
    private var sendTimeHeaders = HeaderBlock()
    /// The body size, body pointer and header list set on the handle (nil and -1: not set).
    private var currentBodyCount = -1
    private var currentPostFields: UnsafeMutableRawPointer?
    private var currentHeaderList: UnsafeMutablePointer<curl_slist>?
    private var currentURL = ""
    private var currentTimeoutMillis = -1
    /// The proxy set on the handle; a value no request has means "not set yet".
    private var currentProxy: String? = "\u{0}unset"
    private let errorBuffer: UnsafeMutablePointer<CChar>
    private var responseBody: [UInt8] = []
    private var retryAfterHeader: Double?
    /// Whether the answer's head had a Retry-After line (numeric or an HTTP date).
    private var retryAfterSeen = false
    /// The status of the response whose headers are being read (0 before a status line).
    private var statusSeen = 0
    private var bodyCut = false
    /// Why the egress guard refused the last address curl tried, for the response's error.
    private var egressRefusal: String?
    /// The CURLOPT_RESOLVE list set on the handle (the egress guard's pin) and its entry: curl
    /// reads it when each transfer starts, so it stays set while requests pin the same entry
    /// (no list built per request) and is replaced or cleared when the next one differs.
    private var pinList: UnsafeMutablePointer<curl_slist>?
    private var currentPin: String?

    /// Creates the handle and sets the options shared by every request; nil when curl cannot.
    init?(userAgent: String, caFile: String? = nil) {
        guard let easy = curl_easy_init() else { return nil }
        self.easy = easy
        errorBuffer = .allocate(capacity: Int(CURL_ERROR_SIZE))
        errorBuffer[0] = 0
        let me = Unmanaged.passUnretained(self).toOpaque()
        wh_curl_easy_setopt_long(easy, CURLOPT_NOSIGNAL, 1)  // many threads, no SIGALRM for DNS timeouts
        wh_curl_easy_setopt_long(easy, CURLOPT_FOLLOWLOCATION, 0)  // a 3xx is an answer, reported as such
        wh_curl_easy_setopt_long(easy, CURLOPT_TCP_NODELAY, 1)
        // Through an HTTP proxy, https goes in a CONNECT tunnel: the proxy's "200 Connection
        // established" is not the endpoint's answer, and must not start the body window.
        wh_curl_easy_setopt_long(easy, CURLOPT_SUPPRESS_CONNECT_HEADERS, 1)
        wh_curl_easy_setopt_pointer(easy, CURLOPT_USERAGENT, userAgent)
        wh_curl_easy_setopt_pointer(easy, CURLOPT_PROTOCOLS_STR, "http,https")  // never file://, ftp://, ...
        // Proxies come from the request only (`CURLOPT_PROXY` per request, "" for direct), never
        // from the environment. With no `CURLOPT_NOPROXY` libcurl reads `no_proxy`/`NO_PROXY` at
        // every request (two scans of the environment, which a Kubernetes pod fills with one
        // variable per service) and would let them send a proxied endpoint's request direct.
        wh_curl_easy_setopt_pointer(easy, CURLOPT_NOPROXY, "")
        wh_curl_easy_setopt_pointer(easy, CURLOPT_ERRORBUFFER, errorBuffer)
        if let caFile {
            // Verification stays on; only the trusted CAs change (curl copies the path).
            wh_curl_easy_setopt_pointer(easy, CURLOPT_CAINFO, caFile)
            wh_curl_easy_setopt_pointer(easy, CURLOPT_PROXY_CAINFO, caFile)
        }
        wh_curl_easy_setopt_pointer(easy, CURLOPT_PRIVATE, me)
        wh_curl_easy_setopt_pointer(easy, CURLOPT_WRITEDATA, me)
        wh_curl_easy_setopt_callback(easy, CURLOPT_WRITEFUNCTION) { data, size, count, userdata in
            let total = size * count
            guard let data, let userdata else { return total }
            // Fewer bytes than offered ends the transfer (CURLE_WRITE_ERROR): the body is over.
            return Unmanaged<Transfer>.fromOpaque(userdata)._withUnsafeGuaranteedRef { $0.received(body: data, count: total) }
                ? total : 0
        }
        // The egress guard: every new connection's address is judged before its socket exists.
        wh_curl_easy_setopt_pointer(easy, CURLOPT_OPENSOCKETDATA, me)
        wh_curl_easy_setopt_opensocket(easy) { clientp, purpose, address in
            guard let clientp, let address else { return CURL_SOCKET_BAD }
            return Unmanaged<Transfer>.fromOpaque(clientp)._withUnsafeGuaranteedRef { $0.openSocket(purpose, address) }
        }
        wh_curl_easy_setopt_pointer(easy, CURLOPT_HEADERDATA, me)
        wh_curl_easy_setopt_callback(easy, CURLOPT_HEADERFUNCTION) { data, size, count, userdata in
            let total = size * count
            guard let data, let userdata else { return total }
            Unmanaged<Transfer>.fromOpaque(userdata)._withUnsafeGuaranteedRef { $0.received(header: data, count: total) }
            return total
        }
    }

    deinit {
        // The request's state first: releasing it may take options off the handle, which must
        // still exist (`curl_easy_setopt` on a cleaned-up handle writes into freed memory).
        releaseRequestState()
        curl_easy_cleanup(easy)
        if let list = pinList { curl_slist_free_all(list) }
        bodyBuffer?.deallocate()
        errorBuffer.deallocate()
    }

    /// The transfer of this handle, from its CURLOPT_PRIVATE pointer.
    static func of(_ easy: UnsafeMutableRawPointer) -> Transfer? {
        var pointer: UnsafeMutableRawPointer?
        guard wh_curl_easy_getinfo_pointer(easy, CURLINFO_PRIVATE, &pointer) == CURLE_OK, let pointer else { return nil }
        return Unmanaged<Transfer>.fromOpaque(pointer).takeUnretainedValue()
    }

    /// Sets the per-request options, after running the request's send hook (the request is
    /// about to go on the wire). Returns an error text when an option is refused.
    /// - Parameter pin: a CURLOPT_RESOLVE entry (`host:port:addresses`) with the addresses the
    ///   egress guard vetted (see `EgressPins`); curl then connects only to those.
    func prepare(_ request: consuming HTTPRequest, pin: String? = nil) -> String? {
        token = request.token
        lane = request.lane
        errorBuffer[0] = 0
        responseBody.removeAll(keepingCapacity: true)
        retryAfterHeader = nil
        retryAfterSeen = false
        statusSeen = 0
        bodySince = nil
        bodyCut = false
        egressRefusal = nil

        // The body is copied into a buffer this handle reuses: Swift does not promise an array a
        // stable address outside `withUnsafeBytes`, and curl copies small bodies again anyway.
        let count = request.body.count
        if bodyCapacity < count || bodyBuffer == nil {
            bodyBuffer?.deallocate()
            bodyCapacity = max(count, 4096)
            bodyBuffer = .allocate(byteCount: bodyCapacity, alignment: 1)
        }
        request.body.withUnsafeBytes { bytes in
            if let base = bytes.baseAddress { bodyBuffer!.copyMemory(from: base, byteCount: count) }
        }

        headerLines.removeAll()
        for line in request.headers { headerLines.append(line) }
        headerLines.append(request.lines)
        if let hook = request.onSend {
            // A buffer this handle keeps, so the hook's lines cost no array allocation.
            sendTimeHeaders.removeAll()
            hook(request, &sendTimeHeaders)
            headerLines.append(sendTimeHeaders)
            sendTimeHeaders.removeAll()
        }
        Self.expectOff.withUnsafeBufferPointer { headerLines.append($0) }

        // Options equal to the previous request's are not set again (curl copies the URL).
        if request.url != currentURL {
            let code = wh_curl_easy_setopt_pointer(easy, CURLOPT_URL, request.url)
            guard code == CURLE_OK else { return failed(code) }
            currentURL = request.url
        }
        if request.proxy != currentProxy {
            // "" turns a previous proxy off and ignores http_proxy & co. from the environment.
            let code = wh_curl_easy_setopt_pointer(easy, CURLOPT_PROXY, request.proxy ?? "")
            guard code == CURLE_OK else { return failed(code) }
            currentProxy = request.proxy
        }
        if pin != currentPin {
            let list = pin.flatMap { curl_slist_append(nil, $0) }
            let code = wh_curl_easy_setopt_pointer(easy, CURLOPT_RESOLVE, list)
            if let old = pinList { curl_slist_free_all(old) }
            pinList = list
            currentPin = pin
            guard code == CURLE_OK else { return failed(code) }
        }
        let timeoutMillis = request.timeout > 0 ? max(1, Int((request.timeout * 1000).rounded(.up))) : 0
        if timeoutMillis != currentTimeoutMillis {
            let code = wh_curl_easy_setopt_long(easy, CURLOPT_TIMEOUT_MS, timeoutMillis)
            guard code == CURLE_OK else { return failed(code) }
            currentTimeoutMillis = timeoutMillis
        }
        // The size first: setting it after POSTFIELDS would be read as a new body. The buffer and
        // the header list are the handle's own and usually where they were for the previous
        // request (curl keeps the pointers and reads them when the transfer starts), so they
        // are set only when they moved; the bytes in them are this request's.
        var code = CURLE_OK
        if count != currentBodyCount {
            code = wh_curl_easy_setopt_off_t(easy, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(count))
            currentBodyCount = count
        }
        if code == CURLE_OK && bodyBuffer != currentPostFields {
            code = wh_curl_easy_setopt_pointer(easy, CURLOPT_POSTFIELDS, bodyBuffer)
            currentPostFields = bodyBuffer
        }
        let list = headerLines.list()
        if code == CURLE_OK && list != currentHeaderList {
            code = wh_curl_easy_setopt_pointer(easy, CURLOPT_HTTPHEADER, list)
            currentHeaderList = list
        }
        guard code == CURLE_OK else { return failed(code) }
        // A large body is dropped now rather than held to the end (the handle has its own copy):
        // one free of a big block costs little, and 64 held 1 MiB bodies would cost 64 MiB.
        if count > Self.heldBodyLimit { request.body = [] }
        self.request = consume request
        return nil
    }

    private func failed(_ code: CURLcode) -> String {
        releaseRequestState()
        currentURL = ""
        currentTimeoutMillis = -1
        currentBodyCount = -1
        currentPostFields = nil
        wh_curl_easy_setopt_pointer(easy, CURLOPT_POSTFIELDS, nil)
        currentHeaderList = nil
        wh_curl_easy_setopt_pointer(easy, CURLOPT_HTTPHEADER, nil)
        currentProxy = "\u{0}unset"
        wh_curl_easy_setopt_pointer(easy, CURLOPT_RESOLVE, nil)
        if let list = pinList { curl_slist_free_all(list) }
        pinList = nil
        currentPin = nil
        return "curl_easy_setopt: " + String(cString: curl_easy_strerror(code))
    }

    /// Reads the outcome after curl reported the transfer done (or the loop ended its body),
    /// appends the response to `responses`, and frees per-request state. Adds the new connections
    /// the transfer opened to `connects`. The response is built straight into the array: returned
    /// by value, Swift 6.3 copied it once on its way out and destroyed the original, about twenty
    /// reference-count operations per request on the HTTP thread.
    func finish(result: CURLcode, connects: inout Int, into responses: inout [HTTPResponse]) {
        var status = 0
        var totalMicros: curl_off_t = 0
        var opened = 0
        wh_curl_easy_getinfo_long(easy, CURLINFO_RESPONSE_CODE, &status)
        wh_curl_easy_getinfo_off_t(easy, CURLINFO_TOTAL_TIME_T, &totalMicros)
        wh_curl_easy_getinfo_long(easy, CURLINFO_NUM_CONNECTS, &opened)
        connects += opened
        // curl parses whole seconds and HTTP dates; a fractional value comes from our own parse.
        // curl is asked only when the answer had a Retry-After that our parse did not take.
        var retryAfter = retryAfterHeader
        if retryAfter == nil && retryAfterSeen {
            var seconds: curl_off_t = 0
            wh_curl_easy_getinfo_off_t(easy, CURLINFO_RETRY_AFTER, &seconds)
            if seconds > 0 { retryAfter = Double(seconds) }
        }

        var outcome = HTTPResponse.Outcome.answered(status: status)
        var cut = false
        let answered = bodySince != nil && status >= 200
        if result != CURLE_OK && answered {
            // The headers were complete: the receiver answered, whatever happened to the body.
            cut = true
        } else if result != CURLE_OK {
            // A half-received answer is not an answer.
            if let refusal = egressRefusal {
                outcome = .failed(.refused(refusal), detail: "")
            } else {
                var text = String(cString: curl_easy_strerror(result))
                if errorBuffer[0] != 0 { text += ": " + String(cString: errorBuffer) }
                outcome = .failed(HTTPFailure(curlCode: result) ?? .other(code: Int(result.rawValue)), detail: text)
            }
        } else if status <= 0 {
            outcome = .failed(.other(code: 0), detail: "the transfer ended without a status line")
        } else if bodyCut {
            cut = true
        }
        // The body and the request are moved into the response in its place (see above).
        responses.append(HTTPResponse(token: token, outcome: outcome, retryAfter: retryAfter,
                                      duration: Double(totalMicros) / 1e6, bodyCut: cut))
        let last = responses.count - 1
        swap(&responses[last].body, &responseBody)
        responses[last].request = request.take()
        responses[last].started = responses[last].request != nil || totalMicros != 0
        releaseRequestState()
    }

    /// CURLOPT_OPENSOCKETFUNCTION: opens the socket only when the request's egress guard allows
    /// the address (checked at connect time, so what a name resolves to later cannot slip past a
    /// check made earlier); a refused address makes curl try the next one, then fail.
    private func openSocket(_ purpose: curlsocktype, _ address: UnsafeMutablePointer<curl_sockaddr>) -> curl_socket_t {
        if purpose == CURLSOCKTYPE_IPCXN, let check = request?.connectCheck, request?.proxy == nil {
            var ip = [UInt8](repeating: 0, count: 16)
            let count = Int(wh_curl_sockaddr_ip(address, &ip))
            guard count > 0 else {
                egressRefusal = "address family \(address.pointee.family) is not IP"
                return CURL_SOCKET_BAD
            }
            if let refusal = check(Array(ip.prefix(count))) {
                egressRefusal = refusal
                return CURL_SOCKET_BAD
            }
        }
        return wh_curl_open_socket(address)
    }

    /// Frees per-request state of a transfer that was removed before it finished.
    func abandon() -> HTTPResponse {
        responseBody = []
        releaseRequestState()
        var response = HTTPResponse.cancelled(token)
        response.request = request.take()
        response.started = response.request != nil
        return response
    }

    /// Marks the body as cut short by the loop (it removes the handle before calling `finish`).
    func cutBody() {
        bodyCut = true
    }

    /// True when the body has been read for longer than the body window at `now` (monotonic ns).
    func bodyOverdue(now: UInt64) -> Bool {
        guard let since = bodySince else { return false }
        return now &- since >= Self.bodyWindowNanos
    }

    /// Ends the request's hold on memory: an oversized header line or body buffer is given back
    /// (and its pointer taken off the handle first). The rest stays for the next request, and
    /// stays set on the handle: curl reads it only when a transfer starts.
    private func releaseRequestState() {
        bodySince = nil
        if headerLines.holdsLargeLines {
            wh_curl_easy_setopt_pointer(easy, CURLOPT_HTTPHEADER, nil)
            currentHeaderList = nil
            headerLines.removeAll()
        }
        if bodyCapacity > Self.keptBodyCapacity {
            wh_curl_easy_setopt_pointer(easy, CURLOPT_POSTFIELDS, nil)
            currentPostFields = nil
            bodyBuffer?.deallocate()
            bodyBuffer = nil
            bodyCapacity = 0
        }
    }

    /// Keeps the start of the body; false (end the transfer) past the size cap or the window.
    private func received(body data: UnsafeMutablePointer<CChar>, count: Int) -> Bool {
        let room = Self.maxResponseBody - responseBody.count
        if room > 0 {
            responseBody.append(contentsOf: UnsafeRawBufferPointer(start: data, count: min(room, count)))
        }
        if count >= room || bodyOverdue(now: Self.monotonicNanos()) {
            bodyCut = true
            return false
        }
        return true
    }

    private func received(header data: UnsafeMutablePointer<CChar>, count: Int) {
        let line = UnsafeRawBufferPointer(start: data, count: count)
        if count >= 5, line[0] == UInt8(ascii: "H"), line[1] == UInt8(ascii: "T"), line[4] == UInt8(ascii: "/") {
            retryAfterHeader = nil  // a new response (status line) starts: forget earlier headers
            retryAfterSeen = false
            statusSeen = Self.statusCode(line)
            bodySince = nil  // an earlier head (a 1xx, a proxy's CONNECT answer) did not end the wait
        } else if count <= 2, line.first == UInt8(ascii: "\r") || line.first == UInt8(ascii: "\n") {
            // The blank line ending a head; 1xx heads are interim, another head follows.
            if statusSeen >= 200 { bodySince = Self.monotonicNanos() }
        } else if RetryAfterHeader.isRetryAfter(line) {
            retryAfterSeen = true
            if let value = RetryAfterHeader.seconds(ofRetryAfterLine: line) { retryAfterHeader = value }
        }
    }

    /// The three-digit code after the first space of a status line; 0 when there is none.
    private static func statusCode(_ line: UnsafeRawBufferPointer) -> Int {
        guard let space = line.firstIndex(of: UInt8(ascii: " ")), space + 3 < line.count else { return 0 }
        var code = 0
        for index in space + 1...space + 3 {
            let digit = Int(line[index]) - Int(UInt8(ascii: "0"))
            guard (0...9).contains(digit) else { return 0 }
            code = code * 10 + digit
        }
        return code
    }

    /// A coarse monotonic clock (a few ms of resolution is plenty for a 1 s window).
    static func monotonicNanos() -> UInt64 {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC_COARSE, &now)
        return UInt64(now.tv_sec) * 1_000_000_000 + UInt64(now.tv_nsec)
    }
}
