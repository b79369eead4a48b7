import Foundation
import NIOCore
import NIOHTTP1
import TrainingControl

/// One connection: collects a request (refusing a body over the size cap before buffering it),
/// asks the API, writes its answer as JSON or as a chunked stream.
final class HTTPHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let api: ControlAPI
    private let activity: ConnectionActivity
    /// The body budget shared by every connection.
    private let bodies: SharedAllowance
    private var head: HTTPRequestHead?
    private var body: [UInt8] = []
    /// Bytes of `bodies` this connection holds.
    private var reserved = 0
    /// A request was refused mid-way (too large): the rest of it is dropped until the close.
    private var refusing = false
    private var peer = Peer(pid: 0, uid: UInt32.max, gid: UInt32.max)
    private var sink: StreamSink?

    init(api: ControlAPI, activity: ConnectionActivity, bodies: SharedAllowance) {
        self.api = api
        self.activity = activity
        self.bodies = bodies
    }

    func channelActive(context: ChannelHandlerContext) {
        if let provider = context.channel as? any SocketOptionProvider {
            let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
            provider.unsafeGetSocketOption(level: SocketOptionLevel(SOL_SOCKET), name: SocketOptionName(SO_PEERCRED)).whenSuccess { (credentials: PeerCredentials) in
                bound.value.peer = Peer(pid: credentials.pid, uid: credentials.uid, gid: credentials.gid)
            }
        }
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        sink?.cancel()
        releaseBody()
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !refusing else { return }
        switch unwrapInboundIn(data) {
        case .head(let head):
            self.head = head
            releaseBody()
            // Refused from the head: the body is never read, however much of it is on its way.
            if let length = head.headers.first(name: "Content-Length").flatMap(Int.init) {
                guard length <= ConnectionLimits.bodyLimit else { return refuse(ConnectionLimits.bodyTooLarge, context: context) }
                body.reserveCapacity(length)
            }
        case .body(let buffer):
            guard body.count + buffer.readableBytes <= ConnectionLimits.bodyLimit else {
                return refuse(ConnectionLimits.bodyTooLarge, context: context)
            }
            guard bodies.take(buffer.readableBytes) else { return refuse(ConnectionLimits.bodyBudgetExhausted, context: context) }
            reserved += buffer.readableBytes
            body += buffer.readableBytesView
        case .end:
            guard let head else { return }
            activity.requestBegun = false
            activity.answering = true
            respond(to: head, context: context)
        }
    }

    /// Answers `error` and closes the connection; what is left of the request is dropped unread.
    private func refuse(_ error: APIError, context: ChannelHandlerContext) {
        refusing = true
        activity.answering = true
        releaseBody()
        writeWhole(error, keepAlive: false, context: context)
    }

    private func releaseBody() {
        bodies.giveBack(reserved)
        reserved = 0
        body = []
    }

    private func respond(to head: HTTPRequestHead, context: ChannelHandlerContext) {
        let keepAlive = head.isKeepAlive
        let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        let reply: @Sendable (APIResponse) -> Void = { response in
            bound.eventLoop.execute {
                let (handler, context) = bound.value
                handler.releaseBody()
                handler.write(response, keepAlive: keepAlive, context: context)
            }
        }
        guard head.method == .POST, head.uri == "/" || head.uri.hasPrefix("/?") else {
            return reply(.error(APIError(.unknownOperation, "trainingd answers POST / with an X-Amz-Target header (awsJson1_1); see docs/api.md")))
        }
        let target = head.headers.first(name: "X-Amz-Target") ?? ""
        let request = APIRequest(target: target, body: body, peer: peer)
        body = []
        api.handle(request, reply: reply)
    }

    private func write(_ response: APIResponse, keepAlive: Bool, context: ChannelHandlerContext) {
        switch response {
        case .json(let document):
            writeWhole(status: .ok, Array(document.serialized().utf8), keepAlive: keepAlive, context: context)
        case .error(let error):
            writeWhole(error, keepAlive: keepAlive, context: context)
        case .stream(let produce):
            var head = HTTPResponseHead(version: .http1_1, status: .ok)
            head.headers.add(name: "Content-Type", value: "text/plain; charset=utf-8")
            head.headers.add(name: "Connection", value: "close")
            context.writeAndFlush(wrapOutboundOut(.head(head)), promise: nil)
            let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
            let sink = StreamSink(write: { bytes, written in
                bound.eventLoop.execute {
                    let (handler, context) = bound.value
                    var buffer = context.channel.allocator.buffer(capacity: bytes.count)
                    buffer.writeBytes(bytes)
                    // `written` runs once the chunk has reached the socket (or failed): a producer
                    // that waits for it never has more than one chunk in the daemon's memory.
                    let future = context.writeAndFlush(handler.wrapOutboundOut(.body(.byteBuffer(buffer))))
                    if let written { future.whenComplete { _ in written() } }
                }
            }, finish: {
                bound.eventLoop.execute {
                    let (handler, context) = bound.value
                    let closing = NIOLoopBound(context, eventLoop: context.eventLoop)
                    context.writeAndFlush(handler.wrapOutboundOut(.end(nil))).whenComplete { _ in closing.value.close(promise: nil) }
                }
            })
            self.sink = sink
            produce(sink)
        }
    }

    private func writeWhole(_ error: APIError, keepAlive: Bool, context: ChannelHandlerContext) {
        let status = HTTPResponseStatus(statusCode: error.kind.httpStatus)
        writeWhole(status: status, Array(error.body.utf8), keepAlive: keepAlive && status == .badRequest, context: context)
    }

    private func writeWhole(status: HTTPResponseStatus, _ bytes: [UInt8], keepAlive: Bool, context: ChannelHandlerContext) {
        var head = HTTPResponseHead(version: .http1_1, status: status)
        head.headers.add(name: "Content-Type", value: Operation.contentType)
        head.headers.add(name: "Content-Length", value: String(bytes.count))
        if !keepAlive { head.headers.add(name: "Connection", value: "close") }
        var buffer = context.channel.allocator.buffer(capacity: bytes.count)
        buffer.writeBytes(bytes)
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)
        let done = context.writeAndFlush(wrapOutboundOut(.end(nil)))
        let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        done.whenComplete { _ in
            let (handler, context) = bound.value
            if keepAlive {
                handler.activity.answering = false
            } else {
                context.close(promise: nil)
            }
        }
    }
}

/// Glibc's `struct ucred`, which Swift does not import.
private struct PeerCredentials: Sendable {
    var pid: Int32 = 0
    var uid: UInt32 = 0
    var gid: UInt32 = 0
}
