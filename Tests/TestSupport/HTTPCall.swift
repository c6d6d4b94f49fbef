import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Plain HTTP requests from tests to the servers under test (bridge, /metrics, /healthz).
public enum HTTPCall {
    /// One answer: status, body text and the response headers.
    public struct Answer: Sendable {
        public let status: Int
        public let text: String
        public let headers: [String: String]

        /// A response header, matched case-insensitively.
        public func header(_ name: String) -> String? {
            headers.first { $0.key.lowercased() == name.lowercased() }?.value
        }
    }

    /// An ephemeral session: no cache, no cookies, a generous timeout for a busy machine.
    public static let session: URLSession = {
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = 30
        configuration.requestCachePolicy = .reloadIgnoringLocalCacheData
        return URLSession(configuration: configuration)
    }()

    /// Sends one request and returns the answer (any status); throws only on transport errors.
    public static func request(_ method: String, _ url: String, body: [UInt8] = [],
                               headers: [String: String] = [:]) async throws -> Answer {
        guard let target = URL(string: url) else { throw URLError(.badURL) }
        var request = URLRequest(url: target)
        request.httpMethod = method
        if !body.isEmpty || method == "POST" { request.httpBody = Data(body) }
        for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
        let (data, response) = try await session.data(for: request)
        let http = response as? HTTPURLResponse
        var fields: [String: String] = [:]
        for (name, value) in http?.allHeaderFields ?? [:] {
            fields["\(name)"] = "\(value)"
        }
        return Answer(status: http?.statusCode ?? 0, text: String(decoding: data, as: UTF8.self), headers: fields)
    }

    public static func get(_ url: String) async throws -> Answer {
        try await request("GET", url)
    }

    /// Polls `url` until it answers `status` (connection errors count as "not yet"); returns
    /// that answer. The timeout error shows the last status or error seen, then `context` (e.g.
    /// the log of the process that should have answered).
    @discardableResult
    public static func waitForStatus(_ status: Int, at url: String, timeout: Double = 30,
                                     context: @autoclosure () -> String = "") async throws -> Answer {
        let last: Result<Answer, TransportFailure>
        do {
            last = try await poll(status, at: url, timeout: timeout)
        } catch {
            let more = context()
            guard !more.isEmpty else { throw error }
            throw TransportFailure(description: "\(error)\n\(more)")
        }
        return try last.get()
    }

    private static func poll(_ status: Int, at url: String, timeout: Double) async throws -> Result<Answer, TransportFailure> {
        try await eventually("GET \(url) answering \(status)", timeout: timeout, interval: 0.05, {
            do {
                let answer = try await get(url)
                return answer.status == status ? Result<Answer, TransportFailure>.success(answer)
                    : .failure(TransportFailure(description: "status \(answer.status): \(answer.text.prefix(200))"))
            } catch {
                return .failure(TransportFailure(description: "\(error)"))
            }
        }, until: { if case .success = $0 { true } else { false } })
    }

    /// Why a poll did not get its answer yet.
    public struct TransportFailure: Error, CustomStringConvertible {
        public let description: String
    }
}
