import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import Synchronization

/// One request as `HTTPReceiver` saw it.
public struct RecordedRequest: Sendable {
    public let method: String
    /// The path without the query.
    public let path: String
    /// The request target as sent (path and query).
    public let uri: String
    /// Headers in arrival order, names lowercased.
    public let headers: [(String, String)]
    public let body: [UInt8]
    /// Unix seconds when the request (with its body) had arrived.
    public let arrival: Double
    /// Arrival position, from 0, over all requests of the receiver.
    public let index: Int

    /// The first value of a header; `name` is matched case-insensitively.
    public func header(_ name: String) -> String? {
        let wanted = name.lowercased()
        return headers.first { $0.0 == wanted }?.1
    }

    /// The body as UTF-8 text.
    public var text: String { String(decoding: body, as: UTF8.self) }
}

/// What `HTTPReceiver` answers to one request.
public struct ReceiverResponse: Sendable {
    public var status: Int
    public var headers: [(String, String)]
    public var body: [UInt8]
    /// Seconds to wait before answering.
    public var delay: Double
    /// Never answer: hold the request until the receiver stops.
    public var hang: Bool

    public init(status: Int = 200, headers: [(String, String)] = [], body: [UInt8] = [], delay: Double = 0, hang: Bool = false) {
        self.status = status
        self.headers = headers
        self.body = body
        self.delay = delay
        self.hang = hang
    }

    public static func status(_ status: Int, body: String = "") -> ReceiverResponse {
        ReceiverResponse(status: status, body: Array(body.utf8))
    }

    public static let hang = ReceiverResponse(status: 503, hang: true)

    /// 429 (or `status`) with a `Retry-After` header carrying `value` verbatim.
    public static func retryAfter(_ value: String, status: Int = 429, body: String = "") -> ReceiverResponse {
        ReceiverResponse(status: status, headers: [("Retry-After", value)], body: Array(body.utf8))
    }

    public static func redirect(to location: String, status: Int = 301) -> ReceiverResponse {
        ReceiverResponse(status: status, headers: [("Location", location)])
    }
}

/// How `HTTPReceiver` answers.
public enum ReceiverBehaviour: Sendable {
    /// Every request gets this status and an empty body.
    case status(Int)
    /// Every request hangs until the receiver stops.
    case hang
    /// Decided per request: the recorded request and its arrival index (from 0).
    case respond(@Sendable (RecordedRequest, Int) -> ReceiverResponse)

    func response(to request: RecordedRequest) -> ReceiverResponse {
        switch self {
        case .status(let status): return ReceiverResponse(status: status)
        case .hang: return .hang
        case .respond(let decide): return decide(request, request.index)
        }
    }
}

/// A real HTTP/1.1 server on 127.0.0.1 (free port) for tests: records every request and answers
/// as its behaviour says. Keep-alive connections, thousands of requests per second.
public final class HTTPReceiver: Sendable {
    public struct Timeout: Error, CustomStringConvertible {
        public let description: String
    }

    private final class Recorder: Sendable {
        struct State {
            var requests: [RecordedRequest] = []
            var behaviour: ReceiverBehaviour
            var stopped = false
        }
        let state: Mutex<State>
        init(behaviour: ReceiverBehaviour) { state = Mutex(State(behaviour: behaviour)) }
        var isStopped: Bool { state.withLock { $0.stopped } }
    }

    /// The bound port.
    public let port: Int
    private let recorder: Recorder
    private let server: Task<Void, Never>

    /// `http://127.0.0.1:PORT/hook`: any path is accepted; this is the conventional one.
    public var url: String { "http://127.0.0.1:\(port)/hook" }
    /// `http://127.0.0.1:PORT`, to build other paths.
    public var baseURL: String { "http://127.0.0.1:\(port)" }

    private init(port: Int, recorder: Recorder, server: Task<Void, Never>) {
        self.port = port
        self.recorder = recorder
        self.server = server
    }

    /// Starts a receiver on 127.0.0.1 and a free port; returns once it accepts connections.
    public static func start(behaviour: ReceiverBehaviour = .status(200)) async throws -> HTTPReceiver {
        let recorder = Recorder(behaviour: behaviour)
        let bound = Mutex<CheckedContinuation<Int, any Error>?>(nil)
        var logger = Logger(label: "HTTPReceiver")
        logger.logLevel = .critical  // stop() cancels the server, which Hummingbird logs as errors
        let app = Application(
            responder: CallbackResponder { (request: Request, _: BasicRequestContext) in
                try await answer(request, recorder: recorder)
            },
            configuration: .init(address: .hostname("127.0.0.1", port: 0), backlog: 1024),
            onServerRunning: { channel in
                let port = channel.localAddress?.port ?? 0
                bound.withLock { $0.take() }?.resume(returning: port)
            },
            logger: logger
        )
        let (stream, ready) = AsyncStream<Void>.makeStream()
        let server = Task {
            await stream.first { _ in true }  // the continuation is in place before the server runs
            do {
                try await app.run()
            } catch {
                bound.withLock { $0.take() }?.resume(throwing: error)
            }
            // Ended before it ever ran (cancelled early): do not leave start() waiting.
            bound.withLock { $0.take() }?.resume(throwing: CancellationError())
        }
        let port = try await withCheckedThrowingContinuation { continuation in
            bound.withLock { $0 = continuation }
            ready.yield()
            ready.finish()
        }
        return HTTPReceiver(port: port, recorder: recorder, server: server)
    }

    /// Every request so far, in arrival order.
    public var requests: [RecordedRequest] { recorder.state.withLock { $0.requests } }

    /// Number of requests so far.
    public var count: Int { recorder.state.withLock { $0.requests.count } }

    /// Changes how later requests are answered.
    public func setBehaviour(_ behaviour: ReceiverBehaviour) {
        recorder.state.withLock { $0.behaviour = behaviour }
    }

    /// Waits until at least `count` requests arrived; throws `Timeout` after `timeout` seconds.
    public func waitForRequests(count: Int, timeout: Double) async throws -> [RecordedRequest] {
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            let seen = requests
            if seen.count >= count { return seen }
            if Date() >= deadline {
                throw Timeout(description: "HTTPReceiver.waitForRequests: \(seen.count) of \(count) requests within \(timeout) s")
            }
            try await Task.sleep(nanoseconds: 10_000_000)
        }
    }

    /// Releases hanging requests and stops the server. Idempotent.
    public func stop() async {
        recorder.state.withLock { $0.stopped = true }
        server.cancel()
        await server.value
    }

    private static func answer(_ request: Request, recorder: Recorder) async throws -> Response {
        var request = request
        let buffer = try await request.collectBody(upTo: .max)
        let (recorded, behaviour) = recorder.state.withLock { state in
            let recorded = RecordedRequest(
                method: request.method.rawValue,
                path: request.uri.path,
                uri: request.uri.string,
                headers: request.headers.map { ($0.name.canonicalName, $0.value) },
                body: Array(buffer.readableBytesView),
                arrival: Date().timeIntervalSince1970,
                index: state.requests.count
            )
            state.requests.append(recorded)
            return (recorded, state.behaviour)
        }
        let reply = behaviour.response(to: recorded)
        if reply.hang {
            while !recorder.isStopped { try await Task.sleep(nanoseconds: 20_000_000) }
            throw CancellationError()
        }
        if reply.delay > 0 {
            let end = Date().addingTimeInterval(reply.delay)
            while Date() < end, !recorder.isStopped { try await Task.sleep(nanoseconds: 5_000_000) }
        }
        var fields = HTTPFields()
        for (name, value) in reply.headers {
            if let fieldName = HTTPField.Name(name) { fields.append(HTTPField(name: fieldName, value: value)) }
        }
        return Response(
            status: .init(code: reply.status),
            headers: fields,
            body: .init(byteBuffer: ByteBuffer(bytes: reply.body))
        )
    }
}
