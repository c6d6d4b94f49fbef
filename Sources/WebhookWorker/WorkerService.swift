import Foundation
import ServiceLifecycle

/// Runs a `WorkerRuntime` as a service: started with the group, stopped cleanly on SIGTERM or
/// SIGINT (graceful shutdown), after which `run()` returns.
public struct WorkerService: Service {
    private let runtime: WorkerRuntime

    public init(runtime: WorkerRuntime) { self.runtime = runtime }

    public func run() async throws {
        let runtime = self.runtime
        // Joining waits for Redis: run it off the cooperative pool; a stop request ends the wait.
        try await withGracefulShutdownHandler {
            try await Self.onThread { try runtime.start() }
        } onGracefulShutdown: {
            Thread.detachNewThread { runtime.stop() }
        }
        // Suspends until graceful shutdown; throws only when the task is cancelled outright.
        try? await gracefulShutdown()
        // The stop joins threads: run it on a thread of its own, off the cooperative pool.
        try await Self.onThread { runtime.stop() }
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
