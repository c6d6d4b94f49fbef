import DequeModule

/// Per-lane FIFOs of waiting requests, served round-robin so that every lane below its cap gets
/// a turn. A lane's cap is the smaller of its own (`maxPerLane`, or the endpoint's `concurrency`)
/// and its fair share of the pool: `poolSize` divided among the lanes that have requests running
/// or waiting, at least one. Why the share: round-robin alone hands slots out evenly, but a slow
/// lane keeps each one for seconds while a fast lane gives it back in a millisecond, so a few
/// slow endpoints (each allowed ¾ of the pool) end up holding every connection and the others
/// starve. With many lanes busy a lane gets few slots; with few busy, its own cap. A lane over
/// its share (the share shrank) keeps what it runs and gets no more until it is under.
/// Not thread-safe: owned by the curl thread.
struct LaneScheduler {
    private struct Lane {
        var id: Int
        /// Slots in `parked` of the lane's waiting requests, oldest first.
        var waiting = Deque<Int>()
        var running = 0
        /// The lane's own cap (an endpoint's `concurrency`), at most `maxPerLane`.
        var cap: Int
        var isIdle: Bool { running == 0 && waiting.isEmpty }
    }

    let maxPerLane: Int
    /// The pool the lanes share (the client's `maxConcurrent`).
    let poolSize: Int
    private var lanes: [Lane] = []
    /// Lanes with a request running or waiting: what the pool is shared among.
    private(set) var busyLanes = 0
    private var indexOfLane: [Int: Int] = [:]
    /// The lane last looked up and its index: a run of requests to one endpoint (the common
    /// case) costs no dictionary lookup (an `Int` key still went through SipHash).
    private var lastLane = (id: Int.min, index: 0)
    /// Where the next round-robin search starts.
    private var cursor = 0
    private(set) var waitingCount = 0
    /// The waiting requests, each in a slot its lane's queue names. Why not a queue of requests:
    /// `Deque.append` copies its argument (a retain per reference the request holds, released
    /// again when the caller's copy dies), where a slot's assignment moves the request in, and
    /// `take()` moves it out; the vacated slot keeps nothing alive.
    private var parked: [HTTPRequest?] = []
    /// Slots of `parked` that are empty, reused first.
    private var freeSlots: [Int] = []
    /// With nothing waiting, slot lists longer than this are dropped (a burst's are not kept).
    private static let keptSlots = 1024

    init(maxPerLane: Int, poolSize: Int) {
        self.maxPerLane = max(1, maxPerLane)
        self.poolSize = max(1, poolSize)
    }

    /// The index in `lanes` of lane `id`, nil when it has none yet (lanes are never removed).
    private mutating func index(ofLane id: Int) -> Int? {
        if lastLane.id == id { return lastLane.index }
        guard let index = indexOfLane[id] else { return nil }
        lastLane = (id, index)
        return index
    }

    /// How many requests a lane may run now: see the type's doc.
    var share: Int { max(1, poolSize / max(1, busyLanes)) }

    /// Takes `request` (moved in: no copy of the references it holds).
    mutating func enqueue(_ request: consuming HTTPRequest) {
        let index: Int
        if let known = self.index(ofLane: request.lane) {
            index = known
        } else {
            index = lanes.count
            indexOfLane[request.lane] = index
            lanes.append(Lane(id: request.lane, cap: maxPerLane))
        }
        if let limit = request.laneLimit { lanes[index].cap = max(1, min(limit, maxPerLane)) }
        if lanes[index].isIdle { busyLanes += 1 }
        let slot: Int
        if let free = freeSlots.popLast() {
            slot = free
            parked[slot] = consume request
        } else {
            slot = parked.count
            parked.append(consume request)
        }
        lanes[index].waiting.append(slot)
        waitingCount += 1
    }

    /// Moves the request out of `slot` and frees the slot.
    private mutating func unpark(_ slot: Int) -> HTTPRequest {
        freeSlots.append(slot)
        return parked[slot].take()!
    }

    /// Drops a burst's slot lists once nothing waits.
    private mutating func trimSlots() {
        if waitingCount == 0 && parked.count > Self.keptSlots {
            parked = []
            freeSlots = []
        }
    }

    /// The next request allowed to start, counted as running in its lane; nil when every lane
    /// with waiting requests is at its cap.
    mutating func next() -> HTTPRequest? {
        guard waitingCount > 0 else { return nil }
        let share = self.share
        for step in 0..<lanes.count {
            let index = (cursor + step) % lanes.count
            guard lanes[index].running < min(lanes[index].cap, share),
                  let slot = lanes[index].waiting.popFirst() else { continue }
            lanes[index].running += 1
            waitingCount -= 1
            cursor = (index + 1) % lanes.count
            let request = unpark(slot)
            trimSlots()
            return request
        }
        return nil
    }

    /// A request that `next()` handed out has finished.
    mutating func finished(lane: Int) {
        guard let index = index(ofLane: lane) else { return }
        lanes[index].running -= 1
        if lanes[index].isIdle { busyLanes -= 1 }
    }

    /// Removes and returns the waiting requests of one lane, oldest first.
    mutating func removeWaiting(lane: Int) -> [HTTPRequest] {
        guard let index = index(ofLane: lane) else { return [] }
        var removed: [HTTPRequest] = []
        waitingCount -= lanes[index].waiting.count
        while let slot = lanes[index].waiting.popFirst() { removed.append(unpark(slot)) }
        if !removed.isEmpty, lanes[index].isIdle { busyLanes -= 1 }
        trimSlots()
        return removed
    }

    /// Removes and returns every waiting request (for cancellation), oldest first per lane.
    mutating func removeAllWaiting() -> [HTTPRequest] {
        var all: [HTTPRequest] = []
        all.reserveCapacity(waitingCount)
        waitingCount = 0
        for index in lanes.indices {
            let wasIdle = lanes[index].isIdle
            while let slot = lanes[index].waiting.popFirst() { all.append(unpark(slot)) }
            if !wasIdle, lanes[index].isIdle { busyLanes -= 1 }
        }
        trimSlots()
        return all
    }
}
