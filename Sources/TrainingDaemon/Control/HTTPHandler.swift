import Foundation
import NIOCore
import NIOHTTP1
import TrainingControl
import TrainingSigV4

/// One connection: collects a request (refusing a body over the size cap before buffering it),
/// asks the API, writes its answer as JSON or as a chunked stream.
final class HTTPHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    /// Who a request comes from.
    enum Authentication: Sendable {
        /// The Unix socket's peer (SO_PEERCRED): the kernel says who connected.
        case peerCredentials
        /// The TCP listener: each request signed (SigV4) with an access key, which maps to a user.
        case signature(SigV4Verifier, AccessKeys)
    }

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
    /// What the head of the request being read showed of its signature, and the key it names.
    private var preflight: (check: SigV4Verifier.Preflight, key: AccessKey)?
    /// Why the request being read was refused from its head, and how much of its body went by since.
    private var headRefusal: APIError?
    private var discarded = 0

    private let authentication: Authentication

    init(api: ControlAPI, activity: ConnectionActivity, bodies: SharedAllowance, authentication: Authentication) {
        self.api = api
        self.activity = activity
        self.bodies = bodies
        self.authentication = authentication
    }

    func channelActive(context: ChannelHandlerContext) {
        if case .peerCredentials = authentication, let provider = context.channel as? any SocketOptionProvider {
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
            preflight = nil
            (headRefusal, discarded) = (nil, 0)
            // Refused from the head: the body is never read, however much of it is on its way.
            if let length = head.headers.first(name: "Content-Length").flatMap(Int.init) {
                guard length <= ConnectionLimits.bodyLimit else { return refuse(ConnectionLimits.bodyTooLarge, context: context) }
                body.reserveCapacity(length)
            }
            // A TCP request is signed: one that is not, or not by a known key, is answered once its
            // body has gone by unkept (it takes nothing of the shared body budget), so that the client
            // reads the refusal rather than a connection reset.
            if case .signature(let verifier, let keys) = authentication {
                do {
                    preflight = try Self.preflight(head, verifier: verifier, keys: keys)
                } catch {
                    headRefusal = error
                    body = []
                }
            }
        case .body(let buffer):
            if headRefusal != nil {
                discarded += buffer.readableBytes
                if discarded > ConnectionLimits.bodyLimit { refuse(ConnectionLimits.bodyTooLarge, context: context) }
                return
            }
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
            if let headRefusal { return writeWhole(headRefusal, keepAlive: head.isKeepAlive, context: context) }
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
        var caller = peer
        if case .signature(let verifier, _) = authentication {
            guard let preflight else { return reply(.error(APIError(.missingAuthenticationToken, "Missing Authentication Token"))) }
            do {
                _ = try verifier.verify(preflight.check, method: head.method.rawValue, target: head.uri, body: body)
            } catch {
                return reply(.error(APIError(error)))
            }
            // The key found when the head came: the one whose secret the signature was checked with.
            caller = Peer(pid: 0, uid: preflight.key.uid, gid: preflight.key.gid)
        }
        let request = APIRequest(target: target, body: body, peer: caller)
        body = []
        api.handle(request, reply: reply)
    }

    /// The signature's checks that need no body, and the access key it names: its secret and its
    /// user are taken from one look-up, so that a reload in between cannot mix two keys.
    private static func preflight(_ head: HTTPRequestHead, verifier: SigV4Verifier, keys: AccessKeys) throws(APIError)
        -> (check: SigV4Verifier.Preflight, key: AccessKey)
    {
        let headers = head.headers.map { (name: $0.name, value: $0.value) }
        let target = head.headers.first(name: "X-Amz-Target") ?? ""
        var key: AccessKey?
        let check: SigV4Verifier.Preflight
        do {
            check = try verifier.preflight(headers: headers, target: head.uri, now: Date()) { id in
                key = keys.key(id: id)
                return key?.secret
            }
        } catch {
            throw APIError(error)
        }
        let service = target.hasPrefix(Operation.logsTargetPrefix) ? "logs" : "sagemaker"
        guard check.signer.service == service else {
            throw APIError(.invalidSignature, "Credential should be scoped to correct service: '\(service)' (for \(target)), not '\(check.signer.service)'")
        }
        guard let key else { throw APIError(.unrecognizedClient, "The security token included in the request is invalid") }
        return (check, key)
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
            Self.addAWSHeaders(to: &head.headers)
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
        Self.addAWSHeaders(to: &head.headers)
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

extension APIError {
    /// A signature's refusal, under AWS's name for it.
    init(_ refusal: SigV4Verifier.Refusal) {
        self.init(Kind(rawValue: refusal.kind.rawValue) ?? .invalidSignature, refusal.message)
    }
}

extension HTTPHandler {
    /// What AWS's services put on every answer, and the SDKs log and read: a request id and the date.
    static func addAWSHeaders(to headers: inout HTTPHeaders) {
        headers.add(name: "x-amzn-RequestId", value: UUID().uuidString.lowercased())
        headers.add(name: "Date", value: httpDate(Date()))
    }

    /// RFC 7231's IMF-fixdate, in English whatever the locale.
    static func httpDate(_ date: Date) -> String {
        var time = time_t(date.timeIntervalSince1970)
        var fields = tm()
        gmtime_r(&time, &fields)
        let days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"], months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        func two(_ value: Int32) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return "\(days[Int(fields.tm_wday)]), \(two(fields.tm_mday)) \(months[Int(fields.tm_mon)]) \(fields.tm_year + 1900) "
            + "\(two(fields.tm_hour)):\(two(fields.tm_min)):\(two(fields.tm_sec)) GMT"
    }
}

/// Glibc's `struct ucred`, which Swift does not import.
private struct PeerCredentials: Sendable {
    var pid: Int32 = 0
    var uid: UInt32 = 0
    var gid: UInt32 = 0
}
