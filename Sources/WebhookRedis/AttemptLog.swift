import WebhookCore

/// Reads the attempt log (`<prefix>:log`, newest on the left; see `Keys.log` and
/// `Scripts.settle`, which writes it with each settle). For `webhook-worker log` and the
/// dashboard. Entries that do not parse as `AttemptRecord.stored()` are skipped: anyone who can
/// write to Redis could have written them.
///
/// Not thread-safe: one per thread, like the queue whose connection it uses.
public final class AttemptLog {
    private let queue: RedisQueue
    /// Entries read per LRANGE while scanning.
    static let chunk = 1000

    /// Reads through `queue`'s connection (and its prefix, Sentinel and Cluster handling).
    public init(queue: RedisQueue) {
        self.queue = queue
    }

    /// Where `after(_:)` continues: the newest entry already seen.
    public struct Cursor: Sendable, Equatable {
        /// The newest entry seen, byte for byte; nil when the log was empty.
        let newest: [UInt8]?
        /// Its time (Unix ms), for when that entry has been trimmed away meanwhile.
        let time: UInt64
    }

    /// Up to `limit` records that match `filter`, newest first. Scans from the newest end and
    /// stops at `limit` matches, at the end of the log, or once records are more than a minute
    /// older than `filter.since`. The log is in write order, which is only nearly time order
    /// (a settle batch writes its events' records together, and workers' settles interleave),
    /// so what is returned is sorted by time.
    public func recent(_ filter: AttemptFilter, limit: Int) throws(RedisError) -> [AttemptRecord] {
        guard limit > 0 else { return [] }
        return try recentWithCursor(filter, limit: limit).records
    }

    /// What `--follow` prints first, and where it continues: up to `limit` matching records,
    /// newest first, and a cursor at the newest entry that read saw. Both come from the same
    /// reads, so a record written meanwhile is either among them or after the cursor, never
    /// both: a cursor taken by its own read before or after `recent` would repeat or lose it.
    public func recentWithCursor(_ filter: AttemptFilter, limit: Int) throws(RedisError) -> (records: [AttemptRecord], cursor: Cursor) {
        var found: [AttemptRecord] = []
        let head = try scan { record in
            if let since = filter.since, record.time + 60_000 < since { return false }
            if found.count < limit && filter.matches(record) { found.append(record) }
            return found.count < limit
        }
        let cursor = Cursor(newest: head, time: head.flatMap(AttemptRecord.init(stored:))?.time ?? 0)
        return (Self.sorted(found, newestFirst: true), cursor)
    }

    /// Every record of one webhook-id (one event at one endpoint), oldest first: its timeline.
    public func forID(_ webhookID: String) throws(RedisError) -> [AttemptRecord] {
        let filter = AttemptFilter(webhookID: webhookID)
        var found: [AttemptRecord] = []
        try scan { record in
            if filter.matches(record) { found.append(record) }
            return true
        }
        return Self.sorted(found, newestFirst: false)
    }

    /// A cursor at the log's newest end now: `after` then returns only what is written later.
    public func cursor() throws(RedisError) -> Cursor {
        let head = try range(0, 0).first
        return Cursor(newest: head, time: head.flatMap(AttemptRecord.init(stored:))?.time ?? 0)
    }

    /// Records written since `cursor`, oldest first (for `--follow`), and the cursor to pass
    /// next. When more than `maxScan` were written in between (or the cursor's entry was
    /// trimmed away), returns those newer than the cursor's time among the newest `maxScan`.
    public func after(_ cursor: Cursor, maxScan: Int = 10_000) throws(RedisError) -> (records: [AttemptRecord], cursor: Cursor) {
        var fresh: [[UInt8]] = []
        var found = false
        var start = 0
        outer: while start < maxScan {
            let entries = try range(start, start + Self.chunk - 1)
            for entry in entries {
                if let newest = cursor.newest, entry == newest { found = true; break outer }
                fresh.append(entry)
            }
            if entries.count < Self.chunk { break }
            start += Self.chunk
        }
        var records = fresh.compactMap(AttemptRecord.init(stored:))
        if !found && cursor.newest != nil { records = records.filter { $0.time >= cursor.time } }
        guard let head = fresh.first else { return ([], cursor) }
        let next = Cursor(newest: head, time: AttemptRecord(stored: head)?.time ?? cursor.time)
        return (Self.sorted(records, newestFirst: false), next)
    }

    /// By time, keeping write order among records of the same millisecond (`records` is newest
    /// written first).
    private static func sorted(_ records: [AttemptRecord], newestFirst: Bool) -> [AttemptRecord] {
        let indexed = records.enumerated().map { ($0.offset, $0.element) }
        return indexed.sorted { a, b in
            if a.1.time != b.1.time { return newestFirst ? a.1.time > b.1.time : a.1.time < b.1.time }
            return newestFirst ? a.0 < b.0 : a.0 > b.0
        }.map(\.1)
    }

    /// How many records the log holds now.
    public func count() throws(RedisError) -> Int {
        let reply = try queue.command("LLEN", queue.keys.log)
        guard let count = reply.integer else { throw queue.unexpected("LLEN", reply) }
        return count
    }

    /// Visits records newest first until `visit` returns false, and returns the newest entry
    /// it read (nil: the log was empty). Entries pushed while scanning shift the later chunks;
    /// an entry seen in the previous chunk is not visited twice.
    @discardableResult
    private func scan(_ visit: (AttemptRecord) -> Bool) throws(RedisError) -> [UInt8]? {
        var start = 0
        var previous = Set<[UInt8]>()
        var head: [UInt8]?
        while true {
            let entries = try range(start, start + Self.chunk - 1)
            if start == 0 { head = entries.first }
            var seen = Set<[UInt8]>()
            seen.reserveCapacity(entries.count)
            for entry in entries {
                seen.insert(entry)
                if previous.contains(entry) { continue }
                guard let record = AttemptRecord(stored: entry) else { continue }
                if !visit(record) { return head }
            }
            if entries.count < Self.chunk { return head }
            previous = seen
            start += Self.chunk
        }
    }

    private func range(_ first: Int, _ last: Int) throws(RedisError) -> [[UInt8]] {
        let reply = try queue.command("LRANGE", queue.keys.log, String(first), String(last))
        guard let elements = reply.array else { throw queue.unexpected("LRANGE", reply) }
        return elements.compactMap(\.bytes)
    }
}
