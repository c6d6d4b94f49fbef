import CHiredis
import Foundation
import WebhookCore

/// One blocking connection to Redis through hiredis: connect, AUTH, SELECT, then binary-safe
/// commands and pipelines.
///
/// Not thread-safe: each thread owns its own connection. After a thrown error with
/// `isConnectionError == true` the connection is unusable; every later call throws at once, and
/// the owner replaces it.
public final class RedisConnection {
    /// Applied to every read and write, so a server that stops answering cannot hang a thread.
    public static let defaultReadTimeout: Double = 10

    private let context: UnsafeMutablePointer<redisContext>
    private let endpoint: String
    private let readTimeout: Double
    private var activeTimeout: Double
    private var brokenReason: String?
    /// Sends `ASKING` before every command: set on a connection opened to follow `-ASK`, which is
    /// used for one command and then dropped.
    var asking = false

    /// `host:port` this connection talks to.
    public var address: String { endpoint }

    /// Connects to `url`, enables TCP keepalive, authenticates and selects the database.
    ///
    /// - Parameters:
    ///   - connectTimeout: seconds allowed for the TCP connect.
    ///   - readTimeout: default seconds allowed for one reply; see `setReadTimeout(_:)`.
    /// - Throws: `RedisError` with `isConnectionError` for network failures; AUTH or SELECT
    ///   refusals are thrown with `isConnectionError == false` (retrying will not help).
    public init(url: RedisURL, connectTimeout: Double = 5, readTimeout: Double = RedisConnection.defaultReadTimeout) throws(RedisError) {
        endpoint = "\(url.host):\(url.port)"
        self.readTimeout = readTimeout
        self.activeTimeout = readTimeout
        guard let context = redisConnectWithTimeout(url.host, Int32(url.port), Self.makeTimeval(seconds: connectTimeout)) else {
            throw RedisError(call: "redisConnectWithTimeout(\(endpoint))", message: "out of memory", isConnectionError: true)
        }
        // Every stored property is set from here on, so a throw runs deinit, which frees the context.
        self.context = context
        if context.pointee.err != 0 {
            throw RedisError(call: "redisConnectWithTimeout(\(endpoint))", message: Self.errorText(context), isConnectionError: true)
        }
        // Keepalive lets the kernel notice a vanished peer on an idle connection.
        if redisEnableKeepAlive(context) != REDIS_OK {
            throw RedisError(call: "redisEnableKeepAlive(\(endpoint))", message: Self.errorText(context), isConnectionError: true)
        }
        setReadTimeout(nil)
        try authenticateAndSelect(url)
    }

    deinit {
        redisFree(context)
    }

    private func authenticateAndSelect(_ url: RedisURL) throws(RedisError) {
        if let password = url.password {
            var args: [[UInt8]] = [Array("AUTH".utf8)]
            if let username = url.username, !username.isEmpty { args.append(Array(username.utf8)) }
            args.append(Array(password.utf8))
            // The server's error text ("WRONGPASS ...") never echoes the password.
            if case .error(let message) = try command(args) {
                throw RedisError(call: "AUTH(\(endpoint))", message: message, isConnectionError: false)
            }
        }
        if url.database != 0, case .error(let message) = try command("SELECT", String(url.database)) {
            throw RedisError(call: "SELECT(\(url.database))", message: message, isConnectionError: false)
        }
    }

    /// Sets the read/write timeout for the following calls; `nil` restores the default.
    /// Blocking commands (BLMOVE with a timeout) need their timeout plus a margin.
    /// A timed-out call is a connection error: the reply may still arrive, so the stream is lost.
    public func setReadTimeout(_ seconds: Double?) {
        activeTimeout = seconds ?? readTimeout
        _ = redisSetTimeout(context, Self.makeTimeval(seconds: activeTimeout))
    }

    /// Sends one command (binary-safe) and returns its reply; error replies come back as `.error`,
    /// except those about the node rather than the command (see `RedisRedirect`), which are thrown.
    public func command(_ args: [[UInt8]]) throws(RedisError) -> RedisReply {
        if asking { return try pipeline([args])[0] }
        let call = "redisCommandArgv(\(Self.name(args)))"
        try checkUsable(call)
        let raw = Self.withArgv(args) { argc, argv, lengths in
            redisCommandArgv(context, argc, argv, lengths)
        }
        guard let raw else { throw markBroken(call) }
        let reply = RedisReply(UnsafePointer(raw.assumingMemoryBound(to: redisReply.self)))
        freeReplyObject(raw)
        try checkRedirect(reply, call: Self.name(args))
        return reply
    }

    /// Sends one command given as text arguments.
    public func command(_ args: String...) throws(RedisError) -> RedisReply {
        try command(args.map { Array($0.utf8) })
    }

    /// Sends one command whose arguments the caller has laid out in memory it keeps alive for
    /// the call (`argv[i]` points at `lengths[i]` bytes), written to the socket from where they
    /// are: hiredis would format a command into a buffer and append that to its output buffer,
    /// two transient copies of a bridge POST's events. Only the RESP framing is built here.
    /// Otherwise like `command(_:)` (a redirect is thrown).
    ///
    /// A write that fails leaves the command incomplete, so Redis never runs it: it is reported
    /// as `redisWrite(<name>)`; a failure while reading the reply as `redisGetReply(<name>)`
    /// (the command may have run).
    func command(argv: [UnsafePointer<CChar>?], lengths: [Int], name: String) throws(RedisError) -> RedisReply {
        precondition(argv.count == lengths.count && !argv.isEmpty)
        try beginWrite(name)
        // "*<n>\r\n", then per argument "$<length>\r\n" <bytes> "\r\n".
        var framing: [UInt8] = Array("*\(argv.count)\r\n".utf8)
        var heads: [Range<Int>] = []
        heads.reserveCapacity(argv.count)
        framing.reserveCapacity(framing.count + argv.count * 12)
        for length in lengths {
            let start = framing.count
            framing.append(contentsOf: "\r\n$\(length)\r\n".utf8)
            heads.append(start..<framing.count)
        }
        framing.append(contentsOf: "\r\n".utf8)
        let sent = framing.withUnsafeBytes { frame -> Bool in
            let base = frame.baseAddress!
            // The first head has no leading CRLF: it follows "*<n>\r\n".
            var vectors: [iovec] = [iovec(iov_base: UnsafeMutableRawPointer(mutating: base), iov_len: heads[0].lowerBound)]
            vectors.reserveCapacity(argv.count * 2 + 2)
            for (index, head) in heads.enumerated() {
                let skip = index == 0 ? 2 : 0
                vectors.append(iovec(iov_base: UnsafeMutableRawPointer(mutating: base + head.lowerBound + skip),
                                     iov_len: head.count - skip))
                if lengths[index] > 0 {
                    vectors.append(iovec(iov_base: UnsafeMutableRawPointer(mutating: argv[index]!), iov_len: lengths[index]))
                }
            }
            vectors.append(iovec(iov_base: UnsafeMutableRawPointer(mutating: base + framing.count - 2), iov_len: 2))
            return Self.sendAll(fd: context.pointee.fd, &vectors)
        }
        return try endWrite(sent: sent, name)
    }

    /// Sends one command whose arguments are already framed: `head`'s, then `tail`'s (a script
    /// call's name, SHA and keys, then its arguments), written to the socket from where they are.
    /// Otherwise like `command(_:)` (a redirect is thrown); failures are reported as
    /// `command(argv:lengths:name:)` reports them.
    func command(framed head: FramedArguments, _ tail: FramedArguments, name: String) throws(RedisError) -> RedisReply {
        precondition(head.count + tail.count > 0)
        try beginWrite(name)
        let header = Array("*\(head.count + tail.count)\r\n".utf8)
        let sent = header.withUnsafeBytes { header in
            head.bytes.withUnsafeBytes { head in
                tail.bytes.withUnsafeBytes { tail in
                    var vectors = [header, head, tail].filter { $0.count > 0 }.map {
                        iovec(iov_base: UnsafeMutableRawPointer(mutating: $0.baseAddress!), iov_len: $0.count)
                    }
                    return Self.sendAll(fd: context.pointee.fd, &vectors)
                }
            }
        }
        return try endWrite(sent: sent, name)
    }

    /// Before a command written straight to the socket: anything hiredis still holds to send
    /// goes first (ASKING when following -ASK).
    private func beginWrite(_ name: String) throws(RedisError) {
        try checkUsable("redisWrite(\(name))")
        if asking, Self.withArgv([Array("ASKING".utf8)], { redisAppendCommandArgv(context, $0, $1, $2) }) != REDIS_OK {
            throw markBroken("redisAppendCommandArgv(ASKING)")
        }
        var done: Int32 = 0
        while done == 0 {
            guard redisBufferWrite(context, &done) == REDIS_OK else { throw markBroken("redisBufferWrite(\(name))") }
        }
    }

    /// After a command written straight to the socket: its reply (ASKING's first, if sent).
    private func endWrite(sent: Bool, _ name: String) throws(RedisError) -> RedisReply {
        if !sent {
            let message = "writing the command failed: \(String(cString: strerror(errno)))"
            brokenReason = message
            throw RedisError(call: "redisWrite(\(name))", message: message, isConnectionError: true)
        }
        for call in (asking ? ["ASKING"] : []) + [name] {
            var raw: UnsafeMutableRawPointer?
            guard redisGetReply(context, &raw) == REDIS_OK, let raw else { throw markBroken("redisGetReply(\(call))") }
            let reply = RedisReply(UnsafePointer(raw.assumingMemoryBound(to: redisReply.self)))
            freeReplyObject(raw)
            if call == name {
                try checkRedirect(reply, call: name)
                return reply
            }
        }
        preconditionFailure("unreachable: the loop returns the command's reply")
    }

    /// Writes every byte `vectors` describe (at most IOV_MAX at a time, resuming after partial
    /// writes); false on an error, with `errno` set (a timeout is EAGAIN).
    private static func sendAll(fd: Int32, _ vectors: inout [iovec]) -> Bool {
        var first = 0
        while first < vectors.count {
            let count = min(vectors.count - first, 1024)  // IOV_MAX on Linux
            let written = vectors.withUnsafeMutableBufferPointer { buffer -> Int in
                var header = msghdr()
                header.msg_iov = buffer.baseAddress! + first
                header.msg_iovlen = count
                return sendmsg(fd, &header, Int32(MSG_NOSIGNAL))
            }
            if written < 0 {
                if errno == EINTR { continue }
                return false
            }
            var left = written
            while left > 0, first < vectors.count {
                if left >= vectors[first].iov_len {
                    left -= vectors[first].iov_len
                    first += 1
                } else {
                    vectors[first].iov_base += left
                    vectors[first].iov_len -= left
                    left = 0
                }
            }
            while first < vectors.count, vectors[first].iov_len == 0 { first += 1 }
        }
        return true
    }

    /// Sends all commands, then reads all replies: one round trip. Replies are in command order;
    /// error replies come back as `.error` values, except redirects (thrown once every reply is read).
    public func pipeline(_ commands: [[[UInt8]]]) throws(RedisError) -> [RedisReply] {
        try checkUsable("redisAppendCommandArgv")
        let askingCommand = [Array("ASKING".utf8)]
        for args in commands {
            if asking, Self.withArgv(askingCommand, { redisAppendCommandArgv(context, $0, $1, $2) }) != REDIS_OK {
                throw markBroken("redisAppendCommandArgv(ASKING)")
            }
            let status = Self.withArgv(args) { argc, argv, lengths in
                redisAppendCommandArgv(context, argc, argv, lengths)
            }
            if status != REDIS_OK { throw markBroken("redisAppendCommandArgv(\(Self.name(args)))") }
        }
        var replies: [RedisReply] = []
        replies.reserveCapacity(commands.count)
        for args in commands {
            if asking {
                var raw: UnsafeMutableRawPointer?
                guard redisGetReply(context, &raw) == REDIS_OK, let raw else { throw markBroken("redisGetReply(ASKING)") }
                freeReplyObject(raw)
            }
            var raw: UnsafeMutableRawPointer?
            guard redisGetReply(context, &raw) == REDIS_OK, let raw else {
                throw markBroken("redisGetReply(\(Self.name(args)))")
            }
            replies.append(RedisReply(UnsafePointer(raw.assumingMemoryBound(to: redisReply.self))))
            freeReplyObject(raw)
        }
        for (args, reply) in zip(commands, replies) { try checkRedirect(reply, call: Self.name(args)) }
        return replies
    }

    // MARK: Errors

    /// Throws an error reply that is about the node (Cluster redirect, replica) instead of
    /// returning it. A replica's refusal marks the connection broken: it must be replaced by one
    /// to the master, which the owner's existing reconnect path does.
    private func checkRedirect(_ reply: RedisReply, call: String) throws(RedisError) {
        guard case .error(let message) = reply, let redirect = RedisRedirect.classify(message) else { return }
        if redirect == .notMaster {
            brokenReason = "\(endpoint) is not the master (\(message))"
            throw RedisError(call: call, message: "\(message) (\(endpoint))", isConnectionError: true, redirect: redirect)
        }
        throw RedisError(call: call, message: message, isConnectionError: false, redirect: redirect)
    }

    private func checkUsable(_ call: String) throws(RedisError) {
        if let brokenReason {
            throw RedisError(call: call, message: "connection to \(endpoint) unusable after an earlier error: \(brokenReason)", isConnectionError: true)
        }
    }

    /// Records a context error (hiredis never recovers from one) and returns it as a `RedisError`.
    private func markBroken(_ call: String) -> RedisError {
        var message = context.pointee.err != 0 ? Self.errorText(context) : "unknown error"
        if context.pointee.err == REDIS_ERR_IO, message == String(cString: strerror(EAGAIN)) {
            message = "no reply within the read timeout of \(activeTimeout) s (\(message))"
        }
        brokenReason = message
        return RedisError(call: call, message: message, isConnectionError: true)
    }

    private static func errorText(_ context: UnsafeMutablePointer<redisContext>) -> String {
        withUnsafeBytes(of: context.pointee.errstr) { buffer in
            let bytes = buffer.prefix { $0 != 0 }
            return String(decoding: bytes, as: UTF8.self)
        }
    }

    // MARK: C plumbing

    /// The command name for error messages: only the first argument, never its values
    /// (AUTH's arguments are secrets).
    private static func name(_ args: [[UInt8]]) -> String {
        guard let first = args.first else { return "" }
        return String(decoding: first.prefix(32), as: UTF8.self).uppercased()
    }

    /// Lays the arguments out in one buffer and calls `body` with argc, argv and argvlen.
    /// One pass, no key paths or mapped arrays: a settle passes several arguments per event, so
    /// per-argument overhead showed in profiles.
    private static func withArgv<R>(
        _ args: [[UInt8]],
        _ body: (Int32, UnsafeMutablePointer<UnsafePointer<CChar>?>, UnsafePointer<Int>) -> R
    ) -> R {
        var total = 1
        for arg in args { total += arg.count }
        var storage: [UInt8] = []
        storage.reserveCapacity(total)
        var lengths: [Int] = []
        lengths.reserveCapacity(args.count)
        for arg in args {
            lengths.append(arg.count)
            storage.append(contentsOf: arg)
        }
        storage.append(0)  // never an empty buffer, so every argv pointer is valid
        return storage.withUnsafeBufferPointer { buffer in
            withUnsafeTemporaryAllocation(of: UnsafePointer<CChar>?.self, capacity: max(1, args.count)) { argv in
                var at = UnsafeRawPointer(buffer.baseAddress!).assumingMemoryBound(to: CChar.self)
                for index in 0..<args.count {
                    argv[index] = at
                    at += lengths[index]
                }
                return lengths.withUnsafeBufferPointer { lengthBuffer in
                    body(Int32(args.count), argv.baseAddress!, lengthBuffer.baseAddress!)
                }
            }
        }
    }

    private static func makeTimeval(seconds: Double) -> timeval {
        let clamped = max(0.001, min(seconds, 86_400 * 365))
        let whole = clamped.rounded(.down)
        return timeval(tv_sec: Int(whole), tv_usec: Int((clamped - whole) * 1_000_000))
    }
}
