import CCurl

/// Why a request got no answer, as a value callers can match on (the text beside it in
/// `HTTPResponse.Outcome.failed` is for logs). Mapped from libcurl's `CURLcode`; callers never
/// see curl.
public enum HTTPFailure: Sendable, Equatable, CustomStringConvertible {
    /// The whole-request timeout passed before a complete status line and headers arrived.
    case timeout
    /// Nothing listens at the address (the TCP connect was refused or reset at once).
    case connectionRefused
    /// The connection broke while the request was sent or before the answer's head arrived
    /// (curl's send and receive errors: a reset, a peer that closed mid-request).
    case connectionLost
    /// The host name (or proxy name) did not resolve.
    case dns
    /// The TLS handshake or the peer's certificate failed.
    case tls
    /// Something exceeded a size limit (the answer, or an allocation for the request).
    case tooLarge
    /// `cancelAll()`, `cancelWaiting()` or `shutdown()` ended the request first, or it was not
    /// started because its `notAfter` had passed.
    case cancelled
    /// `withdrawWaiting(lanes:)` took the request back before it started: its caller wants it
    /// elsewhere (the worker parks a lagging endpoint's queued deliveries).
    case withdrawn
    /// The egress guard refused every address the host resolved to (the reason says which and
    /// why); no connection was made.
    case refused(String)
    /// The request was never started: the client could not set it up (the detail says why).
    case notStarted
    /// Any other libcurl error: its `CURLcode` number (curl's text for it is the detail).
    case other(code: Int)

    /// Maps a libcurl result code; `CURLE_OK` has no failure.
    init?(curlCode code: CURLcode) {
        switch code {
        case CURLE_OK:
            return nil
        case CURLE_OPERATION_TIMEDOUT:
            self = .timeout
        case CURLE_COULDNT_CONNECT:
            self = .connectionRefused
        case CURLE_SEND_ERROR, CURLE_RECV_ERROR:
            self = .connectionLost
        case CURLE_COULDNT_RESOLVE_HOST, CURLE_COULDNT_RESOLVE_PROXY:
            self = .dns
        case CURLE_SSL_CONNECT_ERROR, CURLE_PEER_FAILED_VERIFICATION, CURLE_SSL_CERTPROBLEM,
             CURLE_SSL_CIPHER, CURLE_SSL_CACERT_BADFILE, CURLE_SSL_ENGINE_NOTFOUND,
             CURLE_SSL_ENGINE_SETFAILED, CURLE_SSL_ENGINE_INITFAILED, CURLE_SSL_CRL_BADFILE,
             CURLE_SSL_ISSUER_ERROR, CURLE_SSL_PINNEDPUBKEYNOTMATCH, CURLE_SSL_INVALIDCERTSTATUS,
             CURLE_SSL_SHUTDOWN_FAILED, CURLE_SSL_CLIENTCERT, CURLE_USE_SSL_FAILED:
            self = .tls
        case CURLE_FILESIZE_EXCEEDED, CURLE_OUT_OF_MEMORY:
            self = .tooLarge
        default:
            self = .other(code: Int(code.rawValue))
        }
    }

    public var description: String {
        switch self {
        case .timeout: return "timeout"
        case .connectionRefused: return "connection refused"
        case .connectionLost: return "connection lost"
        case .dns: return "name did not resolve"
        case .tls: return "TLS failure"
        case .tooLarge: return "too large"
        case .cancelled: return "cancelled"
        case .withdrawn: return "withdrawn before it started"
        case .refused(let text): return "refused by the egress guard: \(text)"
        case .notStarted: return "not started"
        case .other(let code): return "curl error \(code)"
        }
    }
}
