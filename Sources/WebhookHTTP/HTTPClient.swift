import CCurl
import Foundation
import Logging

/// An `HTTPEngine` on a thread of its own, for callers that only submit requests and take
/// answers: the engine's rules, plus thread-safe `submit` and cancellation. (The worker's
/// dispatcher drives an engine directly instead: see `HTTPEngine` for why.)
public final class HTTPClient: Sendable {
    private let state: ClientState
    private let stopped = DispatchSemaphore(value: 0)
    private let onComplete: @Sendable ([HTTPResponse]) -> Void

    /// Starts the thread.
    /// - Parameters:
    ///   - maxConcurrent: requests (and connections) in flight at once, all lanes together.
    ///   - maxPerLane: requests in flight at once for one lane.
    ///   - logger: where problems outside any one request are logged (never standard error).
    ///   - onComplete: receives finished requests in batches, on the client's thread: keep it
    ///     short (hand the batch to another thread), and do not call `shutdown()` from it.
    public init(maxConcurrent: Int, maxPerLane: Int, logger: Logger = Logger(label: "webhook-http"),
                onComplete: @escaping @Sendable ([HTTPResponse]) -> Void) throws {
        let engine = try HTTPEngine(maxConcurrent: maxConcurrent, maxPerLane: maxPerLane, logger: logger)
        let state = ClientState(waker: engine.waker)
        self.state = state
        self.onComplete = onComplete
        let owned = EngineBox(engine: engine)
        let stopped = self.stopped
        let thread = Thread {
            Self.loop(owned.engine, state: state, onComplete: onComplete)
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
        guard !requests.isEmpty else { return }
        if !state.submit(requests) {
            onComplete(requests.map { .cancelled($0.token, reason: "HTTP client is shut down") })
        }
    }

    /// Requests submitted and not yet completed (waiting or running).
    public var inFlight: Int { state.inFlight }

    /// New connections opened so far: with keep-alive this stays far below the number of requests.
    public var connectionsOpened: Int { state.connectionsOpened }

    /// Every waiting and running request completes with `cancelled = true`; requests submitted
    /// afterwards run normally.
    public func cancelAll() {
        state.requestCancel(running: true)
    }

    /// Requests that have not started complete with `cancelled = true`; running ones go on.
    public func cancelWaiting() {
        state.requestCancel(running: false)
    }

    /// Cancels what is left (completions still reach `onComplete`), stops the thread and waits
    /// for it, then frees every curl handle. Idempotent.
    public func shutdown() {
        guard state.requestStop() else { return }
        // On the client's thread itself (from onComplete) waiting would deadlock; the loop ends on its own.
        if !state.isOnLoopThread { stopped.wait() }
    }

    private static func loop(_ engine: HTTPEngine, state: ClientState, onComplete: @Sendable ([HTTPResponse]) -> Void) {
        state.setLoopThread()
        var completions: [HTTPResponse] = []
        while true {
            let work = state.takeWork()
            for request in work.toCancel { completions.append(.cancelled(request.token)) }
            if work.cancel || work.stop {
                engine.cancelAll(into: &completions)
            } else if work.cancelWaiting {
                engine.cancelWaiting(into: &completions)
            }
            if work.stop {
                for request in work.requests { completions.append(.cancelled(request.token)) }
            } else {
                engine.submit(work.requests, completions: &completions)
                engine.run(maxWait: completions.isEmpty ? 1 : 0, into: &completions)
            }
            if !completions.isEmpty {
                let batch = completions
                completions = []
                state.completed(batch.count, connectionsOpened: engine.connectionsOpened)
                onComplete(batch)
            }
            if work.stop { break }
        }
        engine.close()
    }
}

/// Hands the engine to the client's thread, which alone uses it from then on.
private struct EngineBox: @unchecked Sendable {
    let engine: HTTPEngine
}

/// `curl_global_init`, run once per process (Swift runs a global's initializer exactly once,
/// thread-safely).
enum CurlGlobal {
    static let initResult: CURLcode = curl_global_init(Int(CURL_GLOBAL_ALL))
}
