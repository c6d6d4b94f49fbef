import Logging

/// The one retry-with-backoff helper of the thread loops: a failure logs the error and returns
/// how long to wait (capped exponential backoff with jitter); a success resets the backoff and
/// says once that the operation works again.
struct RetryLog {
    let what: String
    let logger: Logger
    private var backoff = Backoff()
    private var failing = false

    init(what: String, logger: Logger) {
        self.what = what
        self.logger = logger
    }

    /// Logs `error` and returns the seconds to wait before trying again.
    mutating func failed(_ error: any Error) -> Double {
        let delay = backoff.next()
        logger.warning("\(what) failed, retrying", metadata: [
            "error": "\(error)", "retry_in": "\(String(format: "%.2f", delay))s"])
        failing = true
        return delay
    }

    mutating func succeeded() {
        backoff.reset()
        if failing {
            failing = false
            logger.info("\(what) works again")
        }
    }
}
