import Foundation

/// Waits, in an async test, until `condition` holds: polls with `Task.sleep` (never
/// `Thread.sleep`, which would starve the in-process receivers on the cooperative pool).
///
/// - Throws: ``EventuallyTimeout`` naming `what` when `timeout` passes first; also rethrows
///   what `condition` throws (a failed redis-cli is an error, not "not yet").
public func eventually(_ what: String, timeout: Double = 30, interval: Double = 0.05,
                       _ condition: () async throws -> Bool) async throws {
    _ = try await eventually(what, timeout: timeout, interval: interval, condition, until: { $0 })
}

/// Samples a value until `done` accepts it and returns that value. On timeout the error shows
/// the last value seen, so a failure says how far things got.
@discardableResult
public func eventually<T>(_ what: String, timeout: Double = 30, interval: Double = 0.05,
                          _ sample: () async throws -> T, until done: (T) throws -> Bool) async throws -> T {
    let deadline = Date().addingTimeInterval(timeout)
    while true {
        let value = try await sample()
        if try done(value) { return value }
        if Date() >= deadline {
            throw EventuallyTimeout(description: "\(what): not within \(timeout) s; last value: \(value)")
        }
        try await Task.sleep(nanoseconds: UInt64(interval * 1_000_000_000))
    }
}

/// Polls `condition` until it holds or `timeout` passes; returns whether it held. Blocks the
/// thread: for synchronous tests only (async tests use the throwing `eventually(_:...)`).
public func eventually(timeout: Double, interval: Double = 0.05, _ condition: () throws -> Bool) rethrows -> Bool {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
        if try condition() { return true }
        Thread.sleep(forTimeInterval: interval)
    }
    return try condition()
}

/// Polls `condition` until it holds or `timeout` passes and returns whether it held, without
/// blocking the cooperative pool (in-process receivers run there): the async tests' form of
/// `eventually(timeout:interval:_:)`, for an assertion whose message is built only on failure.
public func eventuallyAsync(timeout: Double, interval: Double = 0.05,
                            _ condition: @escaping () throws -> Bool) async throws -> Bool {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
        if try condition() { return true }
        try await Task.sleep(nanoseconds: UInt64(interval * 1e9))
    }
    return try condition()
}

/// A condition that did not come true in time.
public struct EventuallyTimeout: Error, CustomStringConvertible {
    public let description: String
    public init(description: String) { self.description = description }
}
