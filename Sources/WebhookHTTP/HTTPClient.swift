import CCurl
import CCurlShim
import Foundation
import Logging

/// A libcurl multi loop on its own thread. Long-lived easy handles and connections (keep-alive),
/// at most `maxConcurrent` requests at once and `maxPerLane` per lane (lane = endpoint index).
///
/// Every request is a POST; redirects are not followed (a 3xx is reported as the status), TLS
/// certificates are verified, `Expect: 100-continue` is never sent, and the first 64 KiB of each
/// answer's body are kept. The status decides: once an answer's headers are in, its body is read
/// for at most a second (and 64 KiB), then the answer is reported with its status.
public final class HTTPClient: Sendable {
    private let state: ClientState
    private let stopped = DispatchSemaphore(value: 0)
    private let onComplete: @Sendable ([HTTPResponse]) -> Void

    /// Starts the curl thread.
    /// - Parameters:
    ///   - maxConcurrent: requests (and connections) in flight at once, all lanes together.
    ///   - maxPerLane: requests in flight at once for one lane.
    ///   - caFile: a PEM file of CA certificates to verify servers (and https proxies) with, in
    ///     place of libcurl's default bundle file; nil for that bundle.
    ///   - resolver: resolves the hosts of requests with a `connectCheck` before they start, so
    ///     that only vetted addresses are connected to (see `EgressPins`).
    ///   - logger: where problems outside any one request are logged (never standard error).
    ///   - onComplete: receives finished requests in batches, on the curl thread: keep it short
    ///     (hand the batch to another thread), and do not call `shutdown()` from it. While
    ///     requests wait for a slot, answers are held until a pool's worth (at most 64) is in or
    ///     the first has waited 1 ms; with none waiting, each round's answers go at once.
    public init(maxConcurrent: Int, maxPerLane: Int, caFile: String? = nil, resolver: HostResolver = .system,
                logger: Logger = Logger(label: "webhook-http"),
                onComplete: @escaping @Sendable ([HTTPResponse]) -> Void) throws {
        guard CurlGlobal.initResult == CURLE_OK else {
            throw HTTPClientError(call: "curl_global_init", message: String(cString: curl_easy_strerror(CurlGlobal.initResult)))
        }
        guard let multi = curl_multi_init() else {
            throw HTTPClientError(call: "curl_multi_init", message: "returned NULL")
        }
        let concurrent = max(1, maxConcurrent)
        // Every connection may be busy at once; idle ones beyond that are closed oldest first.
        var code = wh_curl_multi_setopt_long(multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, concurrent)
        // The idle-connection cache is pinned to the pool size. libcurl's default sizes it at four
        // per easy handle *added*, and a finished transfer's handle is removed: in a lull (one
        // request at a time) the cache shrinks to four and closes the other warm connections,
        // TLS sessions included, which the next burst then opens again (measured with the
        // bench's connection_dip phase: 64 connections with the pin, 124 without).
        if code == CURLM_OK { code = wh_curl_multi_setopt_long(multi, CURLMOPT_MAXCONNECTS, concurrent) }
        guard code == CURLM_OK else {
            curl_multi_cleanup(multi)
            throw HTTPClientError(call: "curl_multi_setopt", code: code)
        }

        state = ClientState(multi: MultiHandle(raw: multi))
        self.onComplete = onComplete
        let loop = CurlLoop(state: state, maxConcurrent: concurrent, maxPerLane: maxPerLane, caFile: caFile, resolver: resolver,
                            logger: logger, onComplete: onComplete)
        let stopped = self.stopped
        let thread = Thread {
            Thread.current.name = "webhook-http"  // from inside: see WorkerThread
            loop.run()
            stopped.signal()
        }
        thread.name = "webhook-http"
        thread.start()
    }

    deinit {
        shutdown()
    }

    /// Queues requests; thread-safe and never blocks on the network. After `shutdown()` the
    /// requests complete at once, cancelled, on the calling thread.
    public func submit(_ requests: [HTTPRequest]) {
        var requests = requests
        submit(moving: &requests)
    }

    /// `submit(_:)` taking the array itself (`requests` is left empty): held by the client
    /// alone, the curl thread moves the requests out of it rather than copying each.
    public func submit(moving requests: inout [HTTPRequest]) {
        guard !requests.isEmpty else { return }
        if !state.submit(moving: &requests) {
            onComplete(requests.map { .cancelled($0.token, reason: "HTTP client is shut down") })
        }
    }

    /// Requests submitted and not yet completed (waiting or running).
    public var inFlight: Int { state.inFlight }

    /// New connections opened so far (CURLINFO_NUM_CONNECTS summed): with keep-alive this stays
    /// far below the number of requests.
    public var connectionsOpened: Int { state.connectionsOpened }

    /// Every waiting and running request completes with `cancelled = true`; requests submitted
    /// afterwards run normally.
    public func cancelAll() {
        state.requestCancel(running: true)
    }

    /// Requests that have not started complete with `cancelled = true`; running ones go on.
    /// A clean stop uses it to hand back queued work at once and let only what is on the
    /// wire use the grace period.
    public func cancelWaiting() {
        state.requestCancel(running: false)
    }

    /// The requests of `lanes` that have not started complete with `failure == .withdrawn`;
    /// running ones and other lanes go on. Requests submitted before this
    /// call are withdrawn too if they are still waiting when the curl thread sees it.
    public func withdrawWaiting(lanes: some Sequence<Int>) {
        state.requestWithdraw(lanes: lanes)
    }

    /// Cancels what is left (completions still reach `onComplete`), stops the curl thread and
    /// waits for it, then frees every curl handle. Idempotent.
    public func shutdown() {
        guard state.requestStop() else { return }
        // On the curl thread itself (from onComplete) waiting would deadlock; the loop ends on its own.
        if !state.isOnLoopThread { stopped.wait() }
    }
}

/// `curl_global_init`, run once per process (Swift runs a global's initializer exactly once,
/// thread-safely).
enum CurlGlobal {
    static let initResult: CURLcode = curl_global_init(Int(CURL_GLOBAL_ALL))
}
