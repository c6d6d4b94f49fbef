import WebhookCore

/// What one bridge POST writes: its events, sent as slices of the request body (never copied
/// out of it), and the dead letters of its oversize events, under an id that makes the write
/// idempotent.
public struct IngestWrite: Sendable {
    /// Names the write: `<prefix>:ingest:<id>` marks it done. Random per POST.
    public let id: String
    /// The request body the events are slices of.
    public let body: [UInt8]
    /// Each event's bytes in `body`, in body order.
    public let events: [Range<Int>]
    /// Encoded dead letters (`DeadLetter.encoded()`), e.g. for events over the per-event cap.
    public let deadLetters: [[UInt8]]

    public init(id: String, body: [UInt8], events: [Range<Int>], deadLetters: [[UInt8]]) {
        self.id = id
        self.body = body
        self.events = events
        self.deadLetters = deadLetters
    }

    /// A fresh id: 20 characters of [0-9a-z].
    public static func newID() -> String { RandomToken.make(20) }
}

/// How an `IngestWrite` ended.
public enum IngestOutcome: Sendable, Equatable {
    /// Written now; `deadTrimmed` old dead letters were dropped to keep the dead list's cap.
    case written(deadTrimmed: Int)
    /// An earlier try of the same write (whose reply was lost) had written it: nothing written.
    case alreadyWritten
}

extension Scripts {
    /// KEYS: queue, dead, the write's marker (`<prefix>:ingest:<id>`). ARGV: the marker's
    /// lifetime in ms, the dead list's cap (0: none), the number of events n, the n events, then
    /// the dead letters. Returns {1, dead letters trimmed}, or {0, 0} when the marker exists.
    ///
    /// Atomic and idempotent: the events and the dead letters go in together with the marker,
    /// so a retried write (the first one's reply lost, e.g. Redis hung past the read timeout
    /// and ran it on resuming) finds the marker and writes nothing twice, and each event keeps
    /// one copy and so one webhook-id. The marker is set last (push before marking): Redis does
    /// not roll back a script that fails half-way, and a retry may then duplicate, never lose.
    /// Pushes go in slices of 1000 arguments (Lua's stack).
    static let ingest = LuaScript(name: "ingest", source: """
        if redis.call('EXISTS', KEYS[3]) == 1 then return {0, 0} end
        local n = tonumber(ARGV[3])
        for i = 4, 3 + n, 1000 do
          redis.call('LPUSH', KEYS[1], unpack(ARGV, i, math.min(i + 999, 3 + n)))
        end
        local trimmed = 0
        if #ARGV > 3 + n then
          for i = 4 + n, #ARGV, 1000 do
            redis.call('LPUSH', KEYS[2], unpack(ARGV, i, math.min(i + 999, #ARGV)))
          end
          local max = tonumber(ARGV[2])
          if max > 0 then
            local length = redis.call('LLEN', KEYS[2])
            if length > max then
              redis.call('LTRIM', KEYS[2], 0, max - 1)
              trimmed = length - max
            end
          end
        end
        redis.call('SET', KEYS[3], '1', 'PX', ARGV[1])
        return {1, trimmed}
        """)
}

extension RedisError {
    /// False when the call failed before its command could reach a server (connecting,
    /// authenticating, finding the master, a redirect not followed): then nothing it sent ran.
    /// True when the command may have been sent and its reply was lost: it may have run.
    public var mayHaveRun: Bool {
        guard isConnectionError, redirect == nil else { return false }
        return call.hasPrefix("redisGetReply") || call.hasPrefix("redisCommandArgv")
    }

    /// True when nothing listens at the server's address (the connection was refused).
    public var isConnectionRefused: Bool {
        isConnectionError && message.localizedCaseInsensitiveContains("connection refused")
    }
}
