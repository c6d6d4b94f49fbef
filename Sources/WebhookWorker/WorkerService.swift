import Foundation
import ServiceLifecycle

/// Runs a `WorkerRuntime` as a service: started with the group, stopped cleanly on SIGTERM or
/// SIGINT (graceful shutdown), after which `run()` returns.
public struct WorkerService: Service {
    private let runtime: WorkerRuntime

    public init(runtime: WorkerRuntime) { self.runtime = runtime }

    public func run() async throws {
        let runtime = self.runtime
        runtime.start()
        // Suspends until graceful shutdown; throws only when the task is cancelled outright.
        try? await gracefulShutdown()
        // The stop joins threads: run it on a thread of its own, off the cooperative pool.
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            Thread.detachNewThread {
                runtime.stop()
                continuation.resume()
            }
        }
    }
}
