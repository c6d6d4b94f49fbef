import NIOCore
import WebhookCore

/// A server that could not listen (usually: the port is in use), said plainly and naming the
/// setting to change, so it is the first thing an operator reads.
public struct ListenError: Error, CustomStringConvertible {
    public let description: String

    /// `error` as a `ListenError` when it is a socket error (bind, listen), else unchanged.
    public static func describe(_ error: any Error, listen: HostPort, variable: String) -> any Error {
        guard let io = error as? IOError else { return error }
        return ListenError(description: "cannot listen on \(listen) (\(variable)): \(io)")
    }
}
