import Foundation
import ServiceLifecycle

/// Why a worker stopped on its own, with an error (the process then exits non-zero).
public struct WorkerFatalError: Error, CustomStringConvertible {
    public let description: String
}

/// Runs a `WorkerRuntime` as a service: started with the group, stopped cleanly on SIGTERM or
/// SIGINT (graceful shutdown), after which `run()` returns.
public struct WorkerService: Service {
    private let runtime: WorkerRuntime

    public init(runtime: WorkerRuntime) { self.runtime = runtime }

    public func run() async throws {
        let runtime = self.runtime
        // Joining waits for Redis: run it off the cooperative pool; a stop request ends the wait
        // and nothing more. This function is the one owner of the lifetime: `stop()` below runs
        // only after `start()` has returned, never beside it.
        try await withGracefulShutdownHandler {
            try await Self.onThread { try runtime.start() }
        } onGracefulShutdown: {
            runtime.abortStart()
        }
        // Suspends until graceful shutdown (or until the runtime must stop with an error).
        let fatal = await withTaskGroup(of: String?.self) { group in
            group.addTask {
                try? await gracefulShutdown()  // throws only when the task is cancelled outright
                return nil
            }
            group.addTask {
                for await reason in runtime.fatalErrors { return reason }
                return nil
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            return first
        }
        // The stop joins threads: run it on a thread of its own, off the cooperative pool.
        try await Self.onThread { runtime.stop() }
        if let fatal { throw WorkerFatalError(description: fatal) }
    }

    private static func onThread(_ body: @escaping @Sendable () throws -> Void) async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            Thread.detachNewThread {
                do {
                    try body()
                    continuation.resume()
                } catch {
                    continuation.resume(throwing: error)
                }
            }
        }
    }
}
