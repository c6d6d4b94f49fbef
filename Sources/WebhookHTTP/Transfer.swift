import CCurl
import CCurlShim

/// One long-lived curl easy handle and the state of the request it currently runs.
///
/// Reusing the handle keeps curl's per-handle caches (DNS, TLS session) warm, and the options that
/// never change are set only once. Owned and touched only by the curl thread.
final class Transfer {
    /// The response body kept per request: enough for Discord's 429 JSON and error pages.
    static let maxResponseBody = 64 * 1024
    /// Grown body buffers larger than this are released after the request, so one huge event does
    /// not pin memory in every handle.
    private static let keptBodyCapacity = 256 * 1024

    let easy: UnsafeMutableRawPointer
    private(set) var token: UInt64 = 0
    private(set) var lane: Int = 0
    /// Index in the loop's running list while the transfer is running, else -1.
    var slot = -1

    private var bodyBuffer: UnsafeMutableRawPointer?
    private var bodyCapacity = 0
    private var headerList: UnsafeMutablePointer<curl_slist>?
    private let errorBuffer: UnsafeMutablePointer<CChar>
    private var responseBody: [UInt8] = []
    private var retryAfterHeader: Double?

    /// Creates the handle and sets the options shared by every request; nil when curl cannot.
    init?(userAgent: String) {
        guard let easy = curl_easy_init() else { return nil }
        self.easy = easy
        errorBuffer = .allocate(capacity: Int(CURL_ERROR_SIZE))
        errorBuffer[0] = 0
        let me = Unmanaged.passUnretained(self).toOpaque()
        wh_curl_easy_setopt_long(easy, CURLOPT_NOSIGNAL, 1)  // many threads, no SIGALRM for DNS timeouts
        wh_curl_easy_setopt_long(easy, CURLOPT_FOLLOWLOCATION, 0)  // a 3xx is an answer, reported as such
        wh_curl_easy_setopt_long(easy, CURLOPT_TCP_NODELAY, 1)
        wh_curl_easy_setopt_pointer(easy, CURLOPT_USERAGENT, userAgent)
        wh_curl_easy_setopt_pointer(easy, CURLOPT_PROTOCOLS_STR, "http,https")  // never file://, ftp://, ...
        wh_curl_easy_setopt_pointer(easy, CURLOPT_ERRORBUFFER, errorBuffer)
        wh_curl_easy_setopt_pointer(easy, CURLOPT_PRIVATE, me)
        wh_curl_easy_setopt_pointer(easy, CURLOPT_WRITEDATA, me)
        wh_curl_easy_setopt_callback(easy, CURLOPT_WRITEFUNCTION) { data, size, count, userdata in
            let total = size * count
            guard let data, let userdata else { return total }
            Unmanaged<Transfer>.fromOpaque(userdata).takeUnretainedValue().received(body: data, count: total)
            return total  // the rest of a long body is read and discarded, never an error
        }
        wh_curl_easy_setopt_pointer(easy, CURLOPT_HEADERDATA, me)
        wh_curl_easy_setopt_callback(easy, CURLOPT_HEADERFUNCTION) { data, size, count, userdata in
            let total = size * count
            guard let data, let userdata else { return total }
            Unmanaged<Transfer>.fromOpaque(userdata).takeUnretainedValue().received(header: data, count: total)
            return total
        }
    }

    deinit {
        curl_easy_cleanup(easy)
        releaseRequestState()
        bodyBuffer?.deallocate()
        errorBuffer.deallocate()
    }

    /// The transfer of this handle, from its CURLOPT_PRIVATE pointer.
    static func of(_ easy: UnsafeMutableRawPointer) -> Transfer? {
        var pointer: UnsafeMutableRawPointer?
        guard wh_curl_easy_getinfo_pointer(easy, CURLINFO_PRIVATE, &pointer) == CURLE_OK, let pointer else { return nil }
        return Unmanaged<Transfer>.fromOpaque(pointer).takeUnretainedValue()
    }

    /// Sets the per-request options. Returns an error text when an option is refused.
    func prepare(_ request: HTTPRequest) -> String? {
        token = request.token
        lane = request.lane
        errorBuffer[0] = 0
        responseBody.removeAll(keepingCapacity: true)
        retryAfterHeader = nil

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

        for header in request.headers where !appendHeader(header) {
            return "curl_slist_append failed (out of memory)"
        }
        guard appendHeader("Expect:") else {  // an empty Expect turns off 100-continue round trips
            return "curl_slist_append failed (out of memory)"
        }

        let timeoutMillis = request.timeout > 0 ? max(1, Int((request.timeout * 1000).rounded(.up))) : 0
        let codes = [
            wh_curl_easy_setopt_pointer(easy, CURLOPT_URL, request.url),
            // The size first: setting it after POSTFIELDS would be read as a new body.
            wh_curl_easy_setopt_off_t(easy, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(count)),
            wh_curl_easy_setopt_pointer(easy, CURLOPT_POSTFIELDS, bodyBuffer),
            wh_curl_easy_setopt_pointer(easy, CURLOPT_HTTPHEADER, headerList),
            wh_curl_easy_setopt_long(easy, CURLOPT_TIMEOUT_MS, timeoutMillis),
        ]
        if let failed = codes.first(where: { $0 != CURLE_OK }) {
            releaseRequestState()
            return "curl_easy_setopt: " + String(cString: curl_easy_strerror(failed))
        }
        return nil
    }

    /// Reads the outcome after curl reported the transfer done, and frees per-request state.
    /// `connects` is the number of new connections the transfer opened.
    func finish(result: CURLcode) -> (response: HTTPResponse, connects: Int) {
        var status = 0
        var retryAfter: curl_off_t = 0
        var totalMicros: curl_off_t = 0
        var connects = 0
        wh_curl_easy_getinfo_long(easy, CURLINFO_RESPONSE_CODE, &status)
        wh_curl_easy_getinfo_off_t(easy, CURLINFO_RETRY_AFTER, &retryAfter)
        wh_curl_easy_getinfo_off_t(easy, CURLINFO_TOTAL_TIME_T, &totalMicros)
        wh_curl_easy_getinfo_long(easy, CURLINFO_NUM_CONNECTS, &connects)

        var response = HTTPResponse(token: token, status: status, body: responseBody, duration: Double(totalMicros) / 1e6)
        // curl parses whole seconds and HTTP dates; a fractional value comes from our own parse.
        response.retryAfter = retryAfterHeader ?? (retryAfter > 0 ? Double(retryAfter) : nil)
        if result != CURLE_OK {
            var text = String(cString: curl_easy_strerror(result))
            if errorBuffer[0] != 0 { text += ": " + String(cString: errorBuffer) }
            response.error = text
            response.status = 0  // a half-received answer is not an answer
        }
        responseBody = []
        releaseRequestState()
        return (response, connects)
    }

    /// Frees per-request state of a transfer that was removed before it finished.
    func abandon() -> HTTPResponse {
        responseBody = []
        releaseRequestState()
        return .cancelled(token)
    }

    private func appendHeader(_ line: String) -> Bool {
        guard let longer = curl_slist_append(headerList, line) else {
            releaseRequestState()
            return false
        }
        headerList = longer
        return true
    }

    private func releaseRequestState() {
        if let list = headerList {
            wh_curl_easy_setopt_pointer(easy, CURLOPT_HTTPHEADER, nil)
            curl_slist_free_all(list)
            headerList = nil
        }
        if bodyCapacity > Self.keptBodyCapacity {
            wh_curl_easy_setopt_pointer(easy, CURLOPT_POSTFIELDS, nil)
            bodyBuffer?.deallocate()
            bodyBuffer = nil
            bodyCapacity = 0
        }
    }

    private func received(body data: UnsafeMutablePointer<CChar>, count: Int) {
        let room = Self.maxResponseBody - responseBody.count
        guard room > 0 else { return }
        let kept = UnsafeRawBufferPointer(start: data, count: min(room, count))
        responseBody.append(contentsOf: kept)
    }

    private func received(header data: UnsafeMutablePointer<CChar>, count: Int) {
        let line = UnsafeRawBufferPointer(start: data, count: count)
        if count >= 5, line[0] == UInt8(ascii: "H"), line[1] == UInt8(ascii: "T"), line[4] == UInt8(ascii: "/") {
            retryAfterHeader = nil  // a new response (status line) starts: forget earlier headers
        } else if let value = RetryAfterHeader.seconds(fromHeaderLine: line) {
            retryAfterHeader = value
        }
    }
}
