import WebhookCore
import WebhookHTTP

/// The one mapping from the HTTP client's typed outcome to the ledger's: retries, the breaker,
/// metrics, spans and the attempt log all read what this decides (WebhookCore cannot see
/// WebhookHTTP, and WebhookHTTP does not know the delivery rules, so the bridge lives here).
extension FailureClass {
    init(_ failure: HTTPFailure) {
        switch failure {
        case .timeout: self = .timeout
        // Refused at once, or reset / closed while the request went out or before the answer's
        // head came back (curl 7, 55, 56): the endpoint's connection failed either way.
        case .connectionRefused, .connectionLost: self = .connect
        case .dns: self = .dns
        case .tls: self = .tls
        // Not the endpoint's fault, or not one we can name: the egress guard's refusal, a
        // request that could not be set up, an over-size answer, any other curl code. The
        // cancelled and withdrawn requests never reach here as failures (see below).
        case .tooLarge, .refused, .notStarted, .other, .cancelled, .withdrawn: self = .other
        }
    }
}

extension AttemptResult {
    /// What the ledger decides on for `response`.
    init(_ response: borrowing HTTPResponse) {
        self.init(outcome: response.outcome, retryAfter: response.retryAfter, body: response.body)
    }

    /// The same from a response's fields (the dispatcher reads them one by one, see
    /// `Dispatcher.complete`).
    init(outcome: HTTPResponse.Outcome, retryAfter: Double?, body: [UInt8]) {
        switch outcome {
        case .answered(let status):
            self = .status(status, retryAfter: retryAfter, body: body)
        case .failed(.withdrawn, _):
            self = .withdrawn
        case .failed(.cancelled, _):
            self = .cancelled
        case .failed(let failure, let detail):
            // The text is what it always was: curl's (or the client's) detail, else the failure.
            self = .transportError(FailureClass(failure), detail.isEmpty ? failure.description : detail)
        }
    }
}
