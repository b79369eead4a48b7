import NIOCore
import TrainingControl

/// What one connection is doing, shared by its ``IdleGuard`` (which sees raw bytes) and its
/// HTTP handler (which sees requests). Touched only on the connection's event loop.
final class ConnectionActivity {
    /// Bytes of a request have arrived and the request is not complete yet.
    var requestBegun = false
    /// The daemon is answering (working on a request, or sending a stream): not idle.
    var answering = false
}

/// Closes a connection that has sent nothing for the idle timeout (IdleStateHandler's read
/// event). A request begun but not finished gets a 408 first, written here, in front of the
/// HTTP encoder, because the HTTP layer has no request to answer when only part of a head came.
final class IdleGuard: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let activity: ConnectionActivity
    private let limits: ConnectionLimits
    private var closing = false

    init(activity: ConnectionActivity, limits: ConnectionLimits) {
        self.activity = activity
        self.limits = limits
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        // After a stalled request was refused, whatever still comes is not worth decoding.
        guard !closing else { return }
        activity.requestBegun = true
        context.fireChannelRead(data)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        guard let idle = event as? IdleStateHandler.IdleStateEvent, idle == .read else {
            return context.fireUserInboundEventTriggered(event)
        }
        guard !activity.answering, !closing else { return }
        closing = true
        guard activity.requestBegun else {
            return context.close(promise: nil)
        }
        var buffer = context.channel.allocator.buffer(capacity: 512)
        buffer.writeBytes(rawErrorResponse(limits.idleRequest))
        let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
        context.writeAndFlush(wrapOutboundOut(buffer)).whenComplete { _ in bound.value.close(promise: nil) }
    }
}

/// The whole pipeline of a connection over the cap: the 503 answer, then close. The client's
/// request is never read, so an over-cap connection costs no memory for its body.
final class OverCapacityHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let answer: APIError

    init(answer: APIError) {
        self.answer = answer
    }

    func channelActive(context: ChannelHandlerContext) {
        var buffer = context.channel.allocator.buffer(capacity: 512)
        buffer.writeBytes(rawErrorResponse(answer))
        let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
        context.writeAndFlush(wrapOutboundOut(buffer)).whenComplete { _ in bound.value.close(promise: nil) }
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {}
}
