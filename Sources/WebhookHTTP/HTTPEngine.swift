import CCurl
import CCurlShim
import Foundation
import Logging

/// A libcurl multi loop driven by its owner's thread: long-lived easy handles and connections
/// (keep-alive), at most `maxConcurrent` requests at once and `maxPerLane` per lane (lane =
/// endpoint index).
///
/// Why no thread of its own: the worker's dispatcher decides what to send and what each answer
/// means, and a hand-off to a separate curl thread and back cost two wake-ups per round, each a
/// context switch on a busy machine (about a third of the worker's CPU per delivery). The
/// dispatcher now runs the transfers itself between its other duties; other threads reach it
/// only through `waker`. `HTTPClient` wraps an engine in a thread for callers that want one.
///
/// Every request is a POST; redirects are not followed (a 3xx is reported as the status), TLS
/// certificates are verified, `Expect: 100-continue` is never sent, and the first 64 KiB of each
/// answer's body are kept. The status decides: once an answer's headers are in, its body is read
/// for at most a second (and 64 KiB), then the answer is reported with its status.
///
/// Not thread-safe: one thread creates, drives and closes it (curl handles are never shared).
public final class HTTPEngine {
    /// Wakes `run(maxWait:into:)` from another thread.
    public let waker: HTTPWaker
    private let multi: UnsafeMutableRawPointer
    private let maxConcurrent: Int
    private var scheduler: LaneScheduler
    private var idle: [Transfer] = []
    private var running: [Transfer] = []
    private var created = 0
    private var closed = false
    private let userAgent = "webhook-worker/1.0"
    private let logger: Logger
    /// New connections opened so far (CURLINFO_NUM_CONNECTS summed): with keep-alive this stays
    /// far below the number of requests.
    public private(set) var connectionsOpened = 0

    /// - Parameters:
    ///   - maxConcurrent: requests (and connections) in flight at once, all lanes together.
    ///   - maxPerLane: requests in flight at once for one lane.
    ///   - logger: where problems outside any one request are logged (never standard error).
    public init(maxConcurrent: Int, maxPerLane: Int, logger: Logger = Logger(label: "webhook-http")) throws {
        guard CurlGlobal.initResult == CURLE_OK else {
            throw HTTPClientError(call: "curl_global_init", message: String(cString: curl_easy_strerror(CurlGlobal.initResult)))
        }
        guard let multi = curl_multi_init() else {
            throw HTTPClientError(call: "curl_multi_init", message: "returned NULL")
        }
        let concurrent = max(1, maxConcurrent)
        // Every connection may be busy at once; idle ones beyond that are closed oldest first.
        var code = wh_curl_multi_setopt_long(multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, concurrent)
        if code == CURLM_OK { code = wh_curl_multi_setopt_long(multi, CURLMOPT_MAXCONNECTS, max(2 * concurrent, 16)) }
        guard code == CURLM_OK else {
            curl_multi_cleanup(multi)
            throw HTTPClientError(call: "curl_multi_setopt", code: code)
        }
        self.multi = multi
        self.maxConcurrent = concurrent
        self.logger = logger
        self.scheduler = LaneScheduler(maxPerLane: maxPerLane)
        self.waker = HTTPWaker(multi: MultiHandle(raw: multi))
    }

    deinit {
        close()
    }

    /// Requests waiting for a slot plus those on the wire.
    public var inFlight: Int { scheduler.waitingCount + running.count }

    /// Queues requests; they start in the next `run`. After `close()` they complete at once,
    /// cancelled.
    public func submit(_ requests: [HTTPRequest], completions: inout [HTTPResponse]) {
        guard !closed else {
            for request in requests { completions.append(.cancelled(request.token, reason: "HTTP client is shut down")) }
            return
        }
        for request in requests { scheduler.enqueue(request) }
    }

    /// Starts waiting requests while slots allow, moves every transfer forward, and appends the
    /// finished ones to `completions`. When nothing finished, sleeps up to `maxWait` seconds
    /// (until a socket is ready, curl's next timeout, a `waker` call, or the end of the earliest
    /// body window), then moves the transfers forward once more.
    public func run(maxWait: Double, into completions: inout [HTTPResponse]) {
        guard !closed else { return }
        let before = completions.count
        startTransfers(&completions)
        perform()
        collectFinished(&completions)
        guard completions.count == before, maxWait > 0 else { return }
        if poll(maxWait: maxWait, &completions) {
            perform()
            collectFinished(&completions)
        }
        // Slots freed by what finished go to waiting requests without another round.
        if completions.count > before, scheduler.waitingCount > 0 { startTransfers(&completions) }
    }

    /// Waiting requests complete at once with `cancelled = true`; running ones go on. A clean
    /// stop uses it to hand back queued work at once and let only what is on the wire use the
    /// grace period.
    public func cancelWaiting(into completions: inout [HTTPResponse]) {
        for request in scheduler.removeAllWaiting() { completions.append(.cancelled(request.token)) }
    }

    /// Every waiting and running request completes with `cancelled = true`.
    public func cancelAll(into completions: inout [HTTPResponse]) {
        for transfer in running {
            let code = curl_multi_remove_handle(multi, transfer.easy)
            if code != CURLM_OK { report(HTTPClientError(call: "curl_multi_remove_handle", code: code)) }
            completions.append(transfer.abandon())
            scheduler.finished(lane: transfer.lane)
            transfer.slot = -1
            idle.append(transfer)
        }
        running.removeAll(keepingCapacity: true)
        cancelWaiting(into: &completions)
    }

    /// Frees every curl handle; what was still in flight is dropped (cancel it first to learn
    /// which). Idempotent; later submits complete cancelled.
    public func close() {
        guard !closed else { return }
        closed = true
        var dropped: [HTTPResponse] = []
        cancelAll(into: &dropped)
        idle.removeAll()  // curl_easy_cleanup in Transfer.deinit
        waker.close()
        curl_multi_cleanup(multi)
    }

    // MARK: Transfers

    /// Starts waiting requests while a handle is free and the lanes' caps allow.
    private func startTransfers(_ completions: inout [HTTPResponse]) {
        while running.count < maxConcurrent, scheduler.waitingCount > 0 {
            guard let transfer = freeTransfer() else {
                failNextWaiting("curl_easy_init failed", &completions)
                continue
            }
            guard let request = scheduler.next() else {
                idle.append(transfer)
                return
            }
            if let problem = transfer.prepare(request) {
                finishWithoutRunning(transfer, request: request, error: problem, &completions)
                continue
            }
            let code = curl_multi_add_handle(multi, transfer.easy)
            guard code == CURLM_OK else {
                _ = transfer.abandon()
                finishWithoutRunning(transfer, request: request,
                                     error: HTTPClientError(call: "curl_multi_add_handle", code: code).description, &completions)
                continue
            }
            transfer.slot = running.count
            running.append(transfer)
        }
    }

    private func freeTransfer() -> Transfer? {
        if let transfer = idle.popLast() { return transfer }
        guard created < maxConcurrent, let transfer = Transfer(userAgent: userAgent) else { return nil }
        created += 1
        return transfer
    }

    private func failNextWaiting(_ error: String, _ completions: inout [HTTPResponse]) {
        guard let request = scheduler.next() else { return }
        scheduler.finished(lane: request.lane)
        completions.append(.notStarted(request.token, error))
    }

    private func finishWithoutRunning(_ transfer: Transfer, request: HTTPRequest, error: String,
                                      _ completions: inout [HTTPResponse]) {
        idle.append(transfer)
        scheduler.finished(lane: request.lane)
        completions.append(.notStarted(request.token, error))
    }

    private func perform() {
        guard !running.isEmpty else { return }
        var stillRunning: Int32 = 0
        let code = curl_multi_perform(multi, &stillRunning)
        if code != CURLM_OK { report(HTTPClientError(call: "curl_multi_perform", code: code)) }
    }

    /// Reads every "done" message and turns it into a completion.
    private func collectFinished(_ completions: inout [HTTPResponse]) {
        var left: Int32 = 0
        while let message = curl_multi_info_read(multi, &left) {
            guard message.pointee.msg == CURLMSG_DONE, let easy = message.pointee.easy_handle,
                  let transfer = Transfer.of(easy) else { continue }
            let result = message.pointee.data.result  // read before remove: the message is freed by it
            let code = curl_multi_remove_handle(multi, easy)
            if code != CURLM_OK { report(HTTPClientError(call: "curl_multi_remove_handle", code: code)) }
            let (response, connects) = transfer.finish(result: result)
            connectionsOpened += connects
            release(transfer)
            completions.append(response)
        }
    }

    /// Takes a finished transfer out of the running list (swap-remove) and back into the pool.
    private func release(_ transfer: Transfer) {
        let slot = transfer.slot
        if slot >= 0, slot < running.count, running[slot] === transfer {
            let last = running.removeLast()
            if slot < running.count {
                running[slot] = last
                last.slot = slot
            }
        }
        transfer.slot = -1
        scheduler.finished(lane: transfer.lane)
        idle.append(transfer)
    }

    /// Sleeps until a socket is ready, curl's next timeout, a wake-up, `maxWait`, or the end of
    /// the earliest body window. Bodies whose window is over are ended first, without sleeping.
    /// Returns true when the transfers should be moved forward.
    private func poll(maxWait: Double, _ completions: inout [HTTPResponse]) -> Bool {
        var timeoutMillis = Int32(max(0, min(maxWait, 3600)) * 1000 + 0.999)
        if let earliest = running.lazy.compactMap(\.bodySince).min() {
            let now = Transfer.monotonicNanos()
            let left = Int64(bitPattern: earliest &+ Transfer.bodyWindowNanos &- now)
            if left <= 0 {
                endOverdueBodies(now: now, &completions)
                return false
            }
            timeoutMillis = min(timeoutMillis, Int32(clamping: left / 1_000_000 + 1))
        }
        let code = curl_multi_poll(multi, nil, 0, timeoutMillis, nil)
        guard code == CURLM_OK else {
            report(HTTPClientError(call: "curl_multi_poll", code: code))
            usleep(10_000)  // do not spin if polling keeps failing
            return false
        }
        return !running.isEmpty
    }

    /// Ends the transfers whose answer's headers are in but whose body outlasted its window: they
    /// are reported with their status (the body is not needed to know the receiver's answer).
    private func endOverdueBodies(now: UInt64, _ completions: inout [HTTPResponse]) {
        for transfer in running where transfer.bodyOverdue(now: now) {
            let code = curl_multi_remove_handle(multi, transfer.easy)
            if code != CURLM_OK { report(HTTPClientError(call: "curl_multi_remove_handle", code: code)) }
            transfer.cutBody()
            let (response, connects) = transfer.finish(result: CURLE_OK)
            connectionsOpened += connects
            release(transfer)
            completions.append(response)
        }
    }

    /// Problems outside any one request (each request's own failure is in its response).
    private func report(_ error: HTTPClientError) {
        logger.error("libcurl call failed", metadata: ["call": "\(error.call)", "error": "\(error.message)"])
    }
}
