import CCurl
import CCurlShim
import DequeModule
import Foundation
import Logging

/// The body of the curl thread: owns the multi handle's transfers, the lane scheduler and the pool
/// of easy handles. Every curl handle is touched only here (the one exception, the wake-up, lives
/// in `ClientState`). Unchecked Sendable because it is handed to the thread once and then used
/// only there.
final class CurlLoop: @unchecked Sendable {
    private let state: ClientState
    private let maxConcurrent: Int
    private let onComplete: @Sendable ([HTTPResponse]) -> Void
    private var scheduler: LaneScheduler
    private var idle: [Transfer] = []
    private var running: [Transfer] = []
    private var created = 0
    private var completions: [HTTPResponse] = []
    /// The submitted arrays of one drain of the inbox, their requests moved into the scheduler.
    private var arrived: [[HTTPRequest]] = []
    /// Reused to put each submitted array's requests back in their order (see `run`).
    private var reordered = Deque<HTTPRequest>()
    /// A submitted array emptied here, given back to submitters with the next completions (see
    /// `ClientState.submit(moving:)`).
    private var emptied: [HTTPRequest]?
    private var connectsThisRound = 0
    /// Completions held back are handed over once this many are in (see `deliverIfDue`): a
    /// pool's worth, at most 64.
    private let handOverBatch: Int
    /// When the oldest completion held back finished (monotonic nanoseconds); 0 when none is.
    private var holdingSince: UInt64 = 0
    private let userAgent = "webhook-worker/1.0"
    private let caFile: String?
    private let logger: Logger
    /// The egress guard's resolution and pins (see `EgressPins`).
    private let pins: EgressPins
    /// Requests waiting for their host's lookup, per host (taken from the scheduler: their lane
    /// slot is given back meanwhile).
    private var parked: [String: [HTTPRequest]] = [:]

    init(state: ClientState, maxConcurrent: Int, maxPerLane: Int, caFile: String?, resolver: HostResolver, logger: Logger,
         onComplete: @escaping @Sendable ([HTTPResponse]) -> Void) {
        self.state = state
        self.pins = EgressPins(resolver: resolver, wake: { [state] in state.wake() })
        self.logger = logger
        self.caFile = caFile
        self.maxConcurrent = maxConcurrent
        self.handOverBatch = min(64, maxConcurrent)
        self.onComplete = onComplete
        self.scheduler = LaneScheduler(maxPerLane: maxPerLane, poolSize: maxConcurrent)
    }

    private var multi: UnsafeMutableRawPointer { state.multi.raw }

    /// Runs until the client stops; then cancels what is left and frees every handle.
    func run() {
        state.setLoopThread()
        while true {
            let work = state.takeWork(into: &arrived)
            if work.cancel || work.stop {
                cancelEverything(alsoCancel: work.toCancel + (work.stop ? Array(arrived.joined()) : []))
            } else if work.cancelWaiting {
                for request in scheduler.removeAllWaiting() + takeParked() + work.toCancel {
                    completions.append(.cancelled(request.token))
                }
            }
            if work.stop {
                deliver()
                break
            }
            // Moved out, in their order, never copied: each array is taken off (so it is held
            // once) and emptied from its end into a deque, whose front then goes first. (Swapping
            // elements, as `reverse()` does, retains and releases what they hold.)
            var largest = 0
            for index in arrived.indices {
                var round: [HTTPRequest] = []
                swap(&round, &arrived[index])
                largest = max(largest, round.count)
                while let request = round.popLast() { reordered.prepend(request) }
                while let request = reordered.popFirst() { scheduler.enqueue(request) }
                if round.capacity <= Self.keptArrivalsCapacity { emptied = round }
            }
            arrived.removeAll(keepingCapacity: true)
            if largest > Self.keptArrivalsCapacity { reordered = Deque() }  // a burst's storage is not kept
            for lane in work.withdrawLanes {
                for request in scheduler.removeWaiting(lane: lane) { completions.append(.withdrawn(request.token)) }
            }
            for host in pins.absorbFinished() {
                for request in parked.removeValue(forKey: host) ?? [] { scheduler.enqueue(request) }
            }
            startTransfers()
            perform()
            let before = completions.count
            collectFinished()
            let finishedAny = completions.count > before
            deliverIfDue()
            // After completions, slots may have freed up: go round again before sleeping.
            if !finishedAny || scheduler.waitingCount == 0 { poll() }
        }
        idle.removeAll()  // curl_easy_cleanup in Transfer.deinit
        curl_multi_cleanup(multi)
    }

    /// Starts waiting requests while a handle is free and the lanes' caps allow.
    private func startTransfers() {
        while running.count < maxConcurrent, scheduler.waitingCount > 0 {
            guard let transfer = freeTransfer() else {
                failNextWaiting("curl_easy_init failed")
                continue
            }
            guard let request = scheduler.next() else {
                idle.append(transfer)
                return
            }
            let token = request.token, lane = request.lane
            if let notAfter = request.notAfter, Date().timeIntervalSince1970 > notAfter {
                giveBack(transfer, lane: lane)
                completions.append(.cancelled(token, reason: "not sent: too late for its ordered key's lease"))
                continue
            }
            var pin: String?
            switch pins.decide(request) {
            case .none: break
            case .pin(let entry): pin = entry
            case .refused(let reason):
                giveBack(transfer, lane: lane)
                completions.append(HTTPResponse(token: token, outcome: .failed(.refused(reason), detail: "")))
                continue
            case .failed(let text):
                giveBack(transfer, lane: lane)
                completions.append(HTTPResponse(token: token, outcome: .failed(.dns, detail: text)))
                continue
            case .pending(let host):
                giveBack(transfer, lane: lane)
                parked[host, default: []].append(request)
                continue
            }
            // The request moves into the transfer, which hands it back in its response.
            if let problem = transfer.prepare(consume request, pin: pin) {
                finishWithoutRunning(transfer, token: token, lane: lane, error: problem)
                continue
            }
            let code = curl_multi_add_handle(multi, transfer.easy)
            guard code == CURLM_OK else {
                _ = transfer.abandon()
                finishWithoutRunning(transfer, token: token, lane: lane,
                                     error: HTTPClientError(call: "curl_multi_add_handle", code: code).description)
                continue
            }
            transfer.slot = running.count
            running.append(transfer)
        }
    }

    private func freeTransfer() -> Transfer? {
        if let transfer = idle.popLast() { return transfer }
        guard created < maxConcurrent, let transfer = Transfer(userAgent: userAgent, caFile: caFile) else { return nil }
        created += 1
        return transfer
    }

    private func failNextWaiting(_ error: String) {
        guard let request = scheduler.next() else { return }
        scheduler.finished(lane: request.lane)
        completions.append(.notStarted(request.token, error))
    }

    private func finishWithoutRunning(_ transfer: Transfer, token: UInt64, lane: Int, error: String) {
        giveBack(transfer, lane: lane)
        completions.append(.notStarted(token, error))
    }

    /// A transfer taken for a request that is not started after all goes back to the idle list,
    /// and the request's slot in its lane is freed.
    private func giveBack(_ transfer: Transfer, lane: Int) {
        idle.append(transfer)
        scheduler.finished(lane: lane)
    }

    private func perform() {
        var stillRunning: Int32 = 0
        let code = curl_multi_perform(multi, &stillRunning)
        if code != CURLM_OK { report(HTTPClientError(call: "curl_multi_perform", code: code)) }
    }

    /// Reads every "done" message and turns it into a completion.
    private func collectFinished() {
        var left: Int32 = 0
        while let message = curl_multi_info_read(multi, &left) {
            guard message.pointee.msg == CURLMSG_DONE, let easy = message.pointee.easy_handle,
                  let transfer = Transfer.of(easy) else { continue }
            let result = message.pointee.data.result  // read before remove: the message is freed by it
            let code = curl_multi_remove_handle(multi, easy)
            if code != CURLM_OK { report(HTTPClientError(call: "curl_multi_remove_handle", code: code)) }
            transfer.finish(result: result, connects: &connectsThisRound, into: &completions)
            release(transfer)
        }
    }

    /// Ends every running and waiting request (plus `extra`) as cancelled.
    private func cancelEverything(alsoCancel extra: [HTTPRequest]) {
        for transfer in running {
            let code = curl_multi_remove_handle(multi, transfer.easy)
            if code != CURLM_OK { report(HTTPClientError(call: "curl_multi_remove_handle", code: code)) }
            completions.append(transfer.abandon())
            scheduler.finished(lane: transfer.lane)
            transfer.slot = -1
            idle.append(transfer)
        }
        running.removeAll(keepingCapacity: true)
        for request in scheduler.removeAllWaiting() + takeParked() + extra {
            completions.append(.cancelled(request.token))
        }
    }

    private func takeParked() -> [HTTPRequest] {
        defer { parked.removeAll() }
        return parked.values.flatMap { $0 }
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

    /// Hands the completions gathered so far (this round's, and any held back) to the caller in
    /// one call.
    private func deliver() {
        guard !completions.isEmpty else { return }
        state.completed(completions.count, connectionsOpened: connectsThisRound, emptied: &emptied)
        connectsThisRound = 0
        // Handed over whole, and a new array started: the receiver keeps it without copying its
        // responses (see `DispatcherMailbox.post`), so emptying this one in place would copy it.
        onComplete(completions)
        completions = []
        completions.reserveCapacity(handOverBatch + 16)  // a hand-over's worth: one allocation each
        holdingSince = 0
    }

    /// Hands this round's completions over now, or holds them back while requests wait here for
    /// a slot, until `handOverBatch` are in or the first has waited `handOverDelayNanos`. Each
    /// hand-over may wake the dispatcher (a futex wake and a context switch, on two cores an
    /// interruption of this thread too), and while requests wait here an answer handed over a
    /// millisecond later delays nothing: the requests that answer frees room for are not needed
    /// yet. Measured in the bench's interleaved pairs: 0.98x the CPU per delivery, lower in 34
    /// of 56 rounds (docs/PERFORMANCE.md). With nothing waiting (a quiet endpoint, one event at a
    /// time) each answer goes over at once, so latency at low rates is unchanged.
    private func deliverIfDue() {
        guard !completions.isEmpty else { return }
        if completions.count < handOverBatch, scheduler.waitingCount > 0 {
            let now = Transfer.monotonicNanos()
            if holdingSince == 0 { holdingSince = now }
            if now &- holdingSince < Self.handOverDelayNanos { return }
        }
        deliver()
    }

    /// How long an answer may be held back (see `deliverIfDue`); `poll` sleeps no longer.
    private static let handOverDelayNanos: UInt64 = 1_000_000

    /// A submitted array of more requests than this does not leave its size in `reordered`.
    private static let keptArrivalsCapacity = 1024

    /// Sleeps until a socket is ready, curl's next timeout, a wake-up, one second, or the end of
    /// the earliest body window. Bodies whose window is over are ended first, without sleeping.
    private func poll() {
        var timeoutMillis: Int32 = 1000
        if let earliest = running.lazy.compactMap(\.bodySince).min() {
            let now = Transfer.monotonicNanos()
            let left = Int64(bitPattern: earliest &+ Transfer.bodyWindowNanos &- now)
            if left <= 0 {
                endOverdueBodies(now: now)
                return
            }
            timeoutMillis = Int32(min(1000, left / 1_000_000 + 1))
        }
        if holdingSince != 0 {  // held answers go over when their delay is up (see `deliverIfDue`)
            let left = Int64(bitPattern: holdingSince &+ Self.handOverDelayNanos &- Transfer.monotonicNanos())
            timeoutMillis = min(timeoutMillis, Int32(max(0, left) / 1_000_000 + 1))
        }
        let code = curl_multi_poll(multi, nil, 0, timeoutMillis, nil)
        guard code == CURLM_OK else {
            report(HTTPClientError(call: "curl_multi_poll", code: code))
            usleep(10_000)  // do not spin if polling keeps failing
            return
        }
    }

    /// Ends the transfers whose answer's headers are in but whose body outlasted its window: they
    /// are reported with their status (the body is not needed to know the receiver's answer).
    private func endOverdueBodies(now: UInt64) {
        for transfer in running where transfer.bodyOverdue(now: now) {
            let code = curl_multi_remove_handle(multi, transfer.easy)
            if code != CURLM_OK { report(HTTPClientError(call: "curl_multi_remove_handle", code: code)) }
            transfer.cutBody()
            transfer.finish(result: CURLE_OK, connects: &connectsThisRound, into: &completions)
            release(transfer)
        }
        deliver()
    }

    /// Problems outside any one request (each request's own failure is in its response).
    private func report(_ error: HTTPClientError) {
        logger.error("libcurl call failed", metadata: ["call": "\(error.call)", "error": "\(error.message)"])
    }
}
