import Hummingbird
import HummingbirdCore
import Logging
import Metrics
import NIOCore
import NIOHTTPTypes
import WebhookCore

/// The bridge's per-connection deadlines (`INGEST_HEADER_TIMEOUT`, `INGEST_BODY_TIMEOUT`,
/// `INGEST_IDLE_TIMEOUT`), so that a client that stops sending, or sends a byte at a time,
/// cannot hold a connection and its buffers for ever:
///
/// - idle: from connecting, or from the end of an answer, to the first byte of a request;
/// - header: from that first byte to the end of the request's headers;
/// - body: from the end of the headers to the end of the body.
///
/// While the bridge works on a request (enqueueing) no deadline runs: that is bounded by the
/// Redis timeouts. A connection past its deadline is closed. A request refused before its body
/// was read (413, 503, 401) gets its answer and one more second, then the connection is closed
/// instead of reading the rest of a body nobody wants.
struct ConnectionTimeouts: Sendable {
    var header: TimeAmount
    var body: TimeAmount
    var idle: TimeAmount

    init(_ bridge: BridgeConfiguration) {
        header = .nanoseconds(Int64(bridge.headerTimeout * 1e9))
        body = .nanoseconds(Int64(bridge.bodyTimeout * 1e9))
        idle = .nanoseconds(Int64(bridge.idleTimeout * 1e9))
    }

    /// An HTTP/1.1 server whose connections keep these deadlines.
    func server(logger: Logger) -> HTTPServerBuilder {
        let timeouts = self
        return HTTPServerBuilder { responder in
            TimedHTTP1Channel(
                inner: HTTP1Channel(responder: responder, configuration: .init(additionalChannelHandlers: [RequestPartWatcher()])),
                timeouts: timeouts, logger: logger)
        }
    }
}

/// Hummingbird's HTTP/1.1 child channel with a ``RawReadWatcher`` in front of the HTTP decoder:
/// only there can the first byte of a request's headers be seen.
struct TimedHTTP1Channel: ServerChildChannel {
    typealias Value = HTTP1Channel.Value
    let inner: HTTP1Channel
    let timeouts: ConnectionTimeouts
    let logger: Logger

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        do {
            let timer = ConnectionTimer(timeouts: timeouts, logger: self.logger)
            try channel.pipeline.syncOperations.addHandler(RawReadWatcher(timer: timer), position: .first)
        } catch {
            return channel.eventLoop.makeFailedFuture(error)
        }
        return inner.setup(channel: channel, logger: logger)
    }

    func handle(value: Value, logger: Logger) async {
        await inner.handle(value: value, logger: logger)
    }
}

/// One connection's deadline: which phase it is in and when that phase must end. Lives on the
/// connection's event loop (both watchers call it there).
final class ConnectionTimer {
    private enum Phase: String { case idle, header, body, answering, lingering }

    /// How long a refused request's connection stays open after its answer, so the client can
    /// read the answer before the close.
    static let linger: TimeAmount = .seconds(1)

    private let timeouts: ConnectionTimeouts
    private let logger: Logger
    private var phase = Phase.idle
    private var deadline: Scheduled<Void>?
    private var context: ChannelHandlerContext?
    /// Requests whose head was read and whose answer is not written yet.
    private var requestsOpen = 0
    /// True between a request's head and the end of its body.
    private var readingBody = false
    /// True when the request being read was answered with a refusal.
    private var refused = false

    init(timeouts: ConnectionTimeouts, logger: Logger) {
        self.timeouts = timeouts
        self.logger = logger
    }

    func connected(_ context: ChannelHandlerContext) {
        self.context = context
        enter(.idle)
    }

    func closed() {
        deadline?.cancel()
        deadline = nil
        context = nil
    }

    /// Bytes arrived, before decoding.
    func bytesArrived() {
        if phase == .idle { enter(.header) }
    }

    func headRead() {
        requestsOpen += 1
        readingBody = true
        refused = false
        enter(.body)
    }

    /// An answer's head with `status` is being written.
    func answering(status: Int) {
        if readingBody && status >= 400 { refused = true }
    }

    func endRead() {
        readingBody = false
        enter(requestsOpen > 0 ? .answering : .idle)
    }

    func answerWritten() {
        requestsOpen = max(0, requestsOpen - 1)
        // A refusal given before the body ended: no point in reading the rest.
        if readingBody {
            if refused { enter(.lingering) }
            return
        }
        enter(requestsOpen > 0 ? .answering : .idle)
    }

    private func enter(_ next: Phase) {
        phase = next
        deadline?.cancel()
        deadline = nil
        let amount: TimeAmount
        switch next {
        case .idle: amount = timeouts.idle
        case .header: amount = timeouts.header
        case .body: amount = timeouts.body
        case .lingering: amount = Self.linger
        case .answering: return
        }
        guard let context else { return }
        deadline = context.eventLoop.assumeIsolated().scheduleTask(in: amount) { [weak self] in
            self?.expire(next)
        }
    }

    private func expire(_ expired: Phase) {
        guard phase == expired, let context else { return }
        if expired == .lingering {
            context.close(promise: nil)
            return
        }
        let variable = switch expired {
        case .idle: "INGEST_IDLE_TIMEOUT"
        case .header: "INGEST_HEADER_TIMEOUT"
        default: "INGEST_BODY_TIMEOUT"
        }
        Counter(label: MetricNames.ingestRejected, dimensions: [("reason", MetricNames.IngestRejection.timeout)]).increment()
        // Idle connections closing is routine; a request cut off half-way is worth a line.
        logger.log(level: expired == .idle ? .debug : .warning, "closed a connection past its deadline", metadata: [
            "phase": "\(expired.rawValue)", "timeout": "\(variable)",
            "remote": "\(context.channel.remoteAddress.map { "\($0)" } ?? "?")",
        ])
        context.close(promise: nil)
    }
}

/// First in the pipeline: sees raw bytes, so a request's header phase starts at its first byte.
final class RawReadWatcher: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    let timer: ConnectionTimer

    init(timer: ConnectionTimer) {
        self.timer = timer
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { timer.connected(context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        timer.connected(context)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        timer.closed()
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        timer.closed()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        timer.bytesArrived()
        context.fireChannelRead(data)
    }
}

/// After the HTTP decoder: sees where requests and answers begin and end, and tells the
/// connection's ``ConnectionTimer`` (found through the pipeline's ``RawReadWatcher``).
final class RequestPartWatcher: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart
    private var timer: ConnectionTimer?

    func handlerAdded(context: ChannelHandlerContext) {
        timer = try? context.pipeline.syncOperations.handler(type: RawReadWatcher.self).timer
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head: timer?.headRead()
        case .body: break
        case .end: timer?.endRead()
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .head(let head): timer?.answering(status: head.status.code)
        case .end: timer?.answerWritten()
        case .body: break
        }
        context.write(data, promise: promise)
    }
}
