/// One POST for `HTTPClient` to send.
public struct HTTPRequest: Sendable {
    /// Runs on the HTTP thread when the request leaves its lane's queue and goes on the wire, and
    /// appends header lines to `extra` (which starts empty; they are sent after `headers` and
    /// `lines`). For headers that must describe the moment of sending rather than of queueing (a
    /// timestamp and a signature covering it): a request may wait behind its lane's cap for a long time. Keep
    /// it short: it runs on the thread that drives every transfer. It gets the request (its
    /// `sendID` and body), so one hook serves every request of an endpoint: a hook capturing
    /// each request's own values was an allocation per request.
    public typealias SendHook = @Sendable (_ request: borrowing HTTPRequest, _ extra: inout HeaderBlock) -> Void

    /// Judges each address a direct connection for this request is about to be made to (4 bytes
    /// for IPv4, 16 for IPv6, as curl resolved them): a reason refuses it, and no connection is
    /// made (libcurl's CURLOPT_OPENSOCKETFUNCTION). Runs on the HTTP thread; keep it short.
    /// Through a proxy it is not asked: the proxy is the policy point there.
    public typealias ConnectCheck = @Sendable (_ address: [UInt8]) -> String?

    /// The caller's identifier, echoed in the matching `HTTPResponse`.
    public var token: UInt64
    /// An absolute `http://` or `https://` URL.
    public var url: String
    /// Request headers as complete lines, `"Name: value"`, for a caller that has them as strings
    /// (the span exporter); the request builder writes every line of a delivery into `lines`.
    public var headers: [String]
    /// This request's own header lines (see `HeaderBlock`), sent after `headers`.
    public var lines: HeaderBlock
    /// The exact bytes to POST.
    public var body: [UInt8]
    /// The scheduling lane (the endpoint's index): at most `maxPerLane` requests of one lane run at
    /// once, so a hung endpoint cannot take every connection.
    public var lane: Int
    /// Whole-request timeout in seconds (connect + send + answer); 0 or less means none.
    public var timeout: Double
    /// Called just before sending; see `SendHook`.
    public var onSend: Optional<SendHook>
    /// The caller's name for this request, for `onSend` (the webhook id a signature covers).
    public var sendID: String
    /// Egress proxy for this request (`http://`, `https://`, `socks5://`, `socks5h://`), nil for
    /// a direct connection. libcurl's own proxy environment variables are never used.
    public var proxy: Optional<String>
    /// The egress guard for this request's direct connections; nil allows every address.
    public var connectCheck: Optional<ConnectCheck>
    /// Names `connectCheck` when it is a pure function of the address (see `ConnectCheckID`):
    /// the verdict on a URL's IP-literal host is then judged once per identity and URL, not per
    /// request. The check still judges every new connection's address when it is made. nil:
    /// judged for every request.
    public var connectCheckID: Optional<ConnectCheckID>
    /// This lane's own cap on requests in flight (an endpoint's `concurrency`), below the
    /// client's `maxPerLane`; nil for that cap.
    public var laneLimit: Optional<Int>
    /// Unix seconds (this process's clock) after which the request must not go on the wire: it
    /// is then answered as cancelled, unsent. Ordered deliveries set it so that a request never
    /// runs past its key's lease (see docs/ARCHITECTURE.md, "Ordered delivery").
    public var notAfter: Optional<Double>

    /// Every field at once: a request made with its fields set after the init was copied whole
    /// when returned (seen in the request builder's code). Why the optional fields are spelled
    /// `Optional<T>`: a `var` written `T?` starts as nil before any init runs, so this init
    /// assigned those fields a second time, and the compiler then built the request twice and
    /// copied one (a retain and a release of each of its references, about 16 per delivery:
    /// `instructions.py`'s dispatcher).
    public init(token: UInt64, url: String, headers: [String], lines: HeaderBlock = HeaderBlock(), body: [UInt8], lane: Int,
                timeout: Double, onSend: SendHook? = nil, sendID: String = "", proxy: String? = nil, connectCheck: ConnectCheck? = nil,
                connectCheckID: ConnectCheckID? = nil, laneLimit: Int? = nil) {
        self.token = token
        self.url = url
        self.headers = headers
        self.lines = lines
        self.body = body
        self.lane = lane
        self.timeout = timeout
        self.onSend = onSend
        self.sendID = sendID
        self.proxy = proxy
        self.connectCheck = connectCheck
        self.connectCheckID = connectCheckID
        self.laneLimit = laneLimit
        self.notAfter = nil
    }
}
