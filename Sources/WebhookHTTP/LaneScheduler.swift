import DequeModule

/// Per-lane FIFOs of waiting requests, served round-robin so that every lane below its cap gets
/// a turn: a lane whose endpoint hangs holds at most `maxPerLane` slots and the other lanes keep
/// flowing. Not thread-safe: owned by the curl thread.
struct LaneScheduler {
    private struct Lane {
        var id: Int
        /// Oldest first. `popFirst` moves the request out of the ring buffer rather than copying
        /// it, so taking one costs no retain/release per reference it holds and the vacated slot
        /// keeps nothing alive.
        var waiting = Deque<HTTPRequest>()
        var running = 0
        /// The lane's own cap (an endpoint's `concurrency`), at most `maxPerLane`.
        var cap: Int
    }

    let maxPerLane: Int
    private var lanes: [Lane] = []
    private var indexOfLane: [Int: Int] = [:]
    /// Where the next round-robin search starts.
    private var cursor = 0
    private(set) var waitingCount = 0

    init(maxPerLane: Int) {
        self.maxPerLane = max(1, maxPerLane)
    }

    mutating func enqueue(_ request: HTTPRequest) {
        let index: Int
        if let known = indexOfLane[request.lane] {
            index = known
        } else {
            index = lanes.count
            indexOfLane[request.lane] = index
            lanes.append(Lane(id: request.lane, cap: maxPerLane))
        }
        if let limit = request.laneLimit { lanes[index].cap = max(1, min(limit, maxPerLane)) }
        lanes[index].waiting.append(request)
        waitingCount += 1
    }

    /// The next request allowed to start, counted as running in its lane; nil when every lane
    /// with waiting requests is at its cap.
    mutating func next() -> HTTPRequest? {
        guard waitingCount > 0 else { return nil }
        for step in 0..<lanes.count {
            let index = (cursor + step) % lanes.count
            guard lanes[index].running < lanes[index].cap, let request = lanes[index].waiting.popFirst() else { continue }
            lanes[index].running += 1
            waitingCount -= 1
            cursor = (index + 1) % lanes.count
            return request
        }
        return nil
    }

    /// A request that `next()` handed out has finished.
    mutating func finished(lane: Int) {
        guard let index = indexOfLane[lane] else { return }
        lanes[index].running -= 1
    }

    /// Removes and returns the waiting requests of one lane, oldest first.
    mutating func removeWaiting(lane: Int) -> [HTTPRequest] {
        guard let index = indexOfLane[lane] else { return [] }
        var removed: [HTTPRequest] = []
        while let request = lanes[index].waiting.popFirst() { removed.append(request) }
        waitingCount -= removed.count
        return removed
    }

    /// Removes and returns every waiting request (for cancellation), oldest first per lane.
    mutating func removeAllWaiting() -> [HTTPRequest] {
        var all: [HTTPRequest] = []
        all.reserveCapacity(waitingCount)
        for index in lanes.indices {
            while let request = lanes[index].waiting.popFirst() { all.append(request) }
        }
        waitingCount = 0
        return all
    }
}
