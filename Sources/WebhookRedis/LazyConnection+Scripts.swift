extension LazyConnection {
    /// Runs a script by SHA, loading it first when `shas` has none for it yet; falls back to
    /// EVAL when the server lost its script cache (restart, SCRIPT FLUSH), which also puts it
    /// back for the next EVALSHA. Error replies are thrown, named after the script.
    /// `shas` (SHA1 by script name) belongs to the caller and survives reconnects: the SHA
    /// depends only on the source.
    /// - Parameter pinned: when set, the script runs only on the server with this `serverID`; on
    ///   any other it is not sent, and `SERVERCHANGED` is thrown (checked after every reconnect
    ///   and redirect, just before the script is sent).
    func runScript(_ script: LuaScript, keys: [String], args: [[UInt8]], shas: inout [String: String],
                   pinned: String? = nil) throws(RedisError) -> RedisReply {
        var framed = FramedArguments()
        for arg in args { framed.append(arg) }
        return try runScript(script, keys: keys, args: framed, shas: &shas, pinned: pinned)
    }

    /// `runScript(_:keys:args:shas:pinned:)` with the arguments already framed (see
    /// `FramedArguments`): what a settle of several hundred events uses.
    func runScript(_ script: LuaScript, keys: [String], args: FramedArguments, shas: inout [String: String],
                   pinned: String? = nil) throws(RedisError) -> RedisReply {
        var keyArguments = FramedArguments()
        keyArguments.append(keys.count)
        for key in keys { keyArguments.append(key) }
        let reply = try run { connection throws(RedisError) -> RedisReply in
            if let pinned, pinned != serverID {
                throw RedisError(call: "EVALSHA(\(script.name))",
                                 message: "SERVERCHANGED another Redis server answers now (\(connection.address)); not sent",
                                 isConnectionError: false)
            }
            if shas[script.name] == nil, let sha = try connection.command("SCRIPT", "LOAD", script.source).text {
                shas[script.name] = sha
            }
            if let sha = shas[script.name] {
                var head = FramedArguments()
                head.append("EVALSHA")
                head.append(sha)
                head.append(contentsOf: keyArguments)
                let reply = try connection.command(framed: head, args, name: "EVALSHA")
                guard reply.errorMessage?.hasPrefix("NOSCRIPT") == true else { return reply }
            }
            var head = FramedArguments()
            head.append("EVAL")
            head.append(script.source)
            head.append(contentsOf: keyArguments)
            return try connection.command(framed: head, args, name: "EVAL")
        }
        if case .error(let message) = reply {
            throw RedisError(call: "EVALSHA(\(script.name))", message: message, isConnectionError: false)
        }
        return reply
    }
}
