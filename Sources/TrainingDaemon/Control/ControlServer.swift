import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import TrainingControl

/// The control socket: HTTP/1.1 over a Unix socket (SwiftNIO), serving ``ControlAPI``.
/// It binds the configured path itself, replacing a stale socket file a crash left, or
/// adopts a listening socket passed by systemd (`LISTEN_FDS`).
final class ControlServer: @unchecked Sendable {
    private let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    private var channel: (any Channel)?
    let path: String
    /// Whether the listening socket came from systemd (LISTEN_FDS) rather than being bound here.
    private(set) var adopted = false

    init(path: String, api: ControlAPI, socketGroup: gid_t?) throws(DaemonError) {
        self.path = path
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(ChannelOptions.backlog, value: 256)
            .childChannelInitializer { channel in
                channel.pipeline.configureHTTPServerPipeline(withErrorHandling: true).flatMapThrowing {
                    try channel.pipeline.syncOperations.addHandler(HTTPHandler(api: api))
                }
            }
        do {
            if let descriptor = Self.activatedDescriptor() {
                channel = try bootstrap.withBoundSocket(descriptor).wait()
                adopted = true
            } else {
                // The root lock is ours, so a socket file still there is a previous daemon's leftover.
                channel = try bootstrap.bind(unixDomainSocketPath: path, cleanupExistingSocketFile: true).wait()
                // Binding follows the umask; the documented mode is 0660, for the socket's group.
                chmod(path, 0o660)
                if let socketGroup { chown(path, getuid(), socketGroup) }
            }
        } catch {
            throw DaemonError(.socketPath, "cannot listen on \(path): \(error); check that its directory exists and is writable")
        }
    }

    /// The listening socket systemd passed (fd 3), when LISTEN_PID is this process.
    static func activatedDescriptor() -> Int32? {
        let environment = ProcessInfo.processInfo.environment
        guard environment["LISTEN_PID"] == String(getpid()), environment["LISTEN_FDS"] == "1" else { return nil }
        unsetenv("LISTEN_PID")
        unsetenv("LISTEN_FDS")
        unsetenv("LISTEN_FDNAMES")
        return 3
    }

    /// Runs `work` on the server's event loop (the watchdog's round trip passes through it).
    func execute(_ work: @escaping @Sendable () -> Void) {
        group.next().execute(work)
    }

    func close() {
        try? channel?.close().wait()
        try? group.syncShutdownGracefully()
    }
}

/// One connection: collects a request (refusing bodies over the size cap), asks the API,
/// writes its answer as JSON or as a chunked stream.
private final class HTTPHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    /// The definition size cap, plus room for the request's own members.
    static let bodyLimit = 4 * 1024 * 1024 + 64 * 1024

    private let api: ControlAPI
    private var head: HTTPRequestHead?
    private var body: [UInt8] = []
    private var tooLarge = false
    private var peer = Peer(pid: 0, uid: UInt32.max, gid: UInt32.max)
    private var sink: StreamSink?

    init(api: ControlAPI) {
        self.api = api
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
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            self.head = head
            body = []
            tooLarge = false
        case .body(var buffer):
            if body.count + buffer.readableBytes > Self.bodyLimit {
                tooLarge = true
            } else if let bytes = buffer.readBytes(length: buffer.readableBytes) {
                body += bytes
            }
        case .end:
            guard let head else { return }
            respond(to: head, context: context)
        }
    }

    private func respond(to head: HTTPRequestHead, context: ChannelHandlerContext) {
        let keepAlive = head.isKeepAlive
        let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        let reply: @Sendable (APIResponse) -> Void = { response in
            bound.eventLoop.execute {
                let (handler, context) = bound.value
                handler.write(response, keepAlive: keepAlive, context: context)
            }
        }
        if tooLarge {
            return reply(.error(APIError(.validation, "the request body is larger than \(Self.bodyLimit) bytes; definitions are limited to 4 MiB")))
        }
        guard head.method == .POST, head.uri == "/" || head.uri.hasPrefix("/?") else {
            return reply(.error(APIError(.unknownOperation, "trainingd answers POST / with an X-Amz-Target header (awsJson1_1); see docs/api.md")))
        }
        let target = head.headers.first(name: "X-Amz-Target") ?? ""
        api.handle(APIRequest(target: target, body: body, peer: peer), reply: reply)
    }

    private func write(_ response: APIResponse, keepAlive: Bool, context: ChannelHandlerContext) {
        switch response {
        case .json(let document):
            writeWhole(status: .ok, Array(document.serialized().utf8), keepAlive: keepAlive, context: context)
        case .error(let error):
            writeWhole(status: .badRequest, Array(error.body.utf8), keepAlive: keepAlive, context: context)
        case .stream(let produce):
            var head = HTTPResponseHead(version: .http1_1, status: .ok)
            head.headers.add(name: "Content-Type", value: "text/plain; charset=utf-8")
            head.headers.add(name: "Connection", value: "close")
            context.writeAndFlush(wrapOutboundOut(.head(head)), promise: nil)
            let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
            let sink = StreamSink(write: { bytes in
                bound.eventLoop.execute {
                    let (handler, context) = bound.value
                    var buffer = context.channel.allocator.buffer(capacity: bytes.count)
                    buffer.writeBytes(bytes)
                    context.writeAndFlush(handler.wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)
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
        if !keepAlive {
            let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
            done.whenComplete { _ in bound.value.close(promise: nil) }
        }
    }
}

/// Glibc's `struct ucred`, which Swift does not import.
private struct PeerCredentials: Sendable {
    var pid: Int32 = 0
    var uid: UInt32 = 0
    var gid: UInt32 = 0
}
