/// A failed Redis call: either the transport broke (`isConnectionError`) or the server answered
/// with an error reply where the caller needed a result.
///
/// `call` names what failed, e.g. `redisCommandArgv(EVALSHA)` or `EVALSHA(take)`, so a log line
/// points at the operation. Messages never contain credentials.
public struct RedisError: Error, CustomStringConvertible {
    /// The failing call, e.g. `redisConnectWithTimeout(127.0.0.1:6379)`.
    public let call: String
    /// hiredis' error text or the server's error reply.
    public let message: String
    /// True when the connection itself failed (hiredis context error): the connection is unusable
    /// and must be replaced. False for error replies (the connection is still fine).
    public let isConnectionError: Bool
    /// Set when the error reply was about the node (Cluster redirect, replica), not the command;
    /// `LazyConnection` follows it before the owner ever sees the error.
    public let redirect: RedisRedirect?

    public init(call: String, message: String, isConnectionError: Bool, redirect: RedisRedirect? = nil) {
        self.call = call
        self.message = message
        self.isConnectionError = isConnectionError
        self.redirect = redirect
    }

    public var description: String { "\(call): \(message)" }
}
