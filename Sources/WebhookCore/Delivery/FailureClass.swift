/// Why an attempt got no answer, in the classes every reader shares: the attempt log's error
/// class, the spans' `error.type`, the breaker's last error and the delivery metrics.
///
/// One home: the HTTP client's `HTTPFailure` is mapped onto it once (`FailureClass(_:)` in
/// WebhookWorker), and everything downstream reads this value, never a text. Raw values are the
/// attempt log's spelling (`--json`, the dashboard).
public enum FailureClass: String, Sendable, Equatable, CaseIterable {
    /// No complete answer within the endpoint's timeout.
    case timeout
    /// No connection, or it broke before the answer: refused, reset, closed mid-request.
    case connect
    /// The host (or the proxy) did not resolve.
    case dns
    /// The TLS handshake or the certificate failed.
    case tls
    /// Anything else: the egress guard refused the address, the request could not be set up,
    /// another libcurl error.
    case other
}
