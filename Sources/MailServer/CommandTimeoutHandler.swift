import NIOCore

/// Tells the session that its client has been silent for the command timeout (RFC 5321
/// §4.5.3.2.7): turns the read-idle event into a ``CommandTimeout`` error on the inbound stream.
/// What to say and whether to close is the state machine's (``SMTPServerStateMachine/timedOut()``);
/// this handler writes nothing.
///
/// The clock that counts is the client's: idle time before the greeting has gone out (a busy
/// server is slow to greet) is not held against it.
final class CommandTimeoutHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private var greeted = false

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        greeted = true
        context.write(data, promise: promise)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        guard let idle = event as? IdleStateHandler.IdleStateEvent, idle == .read else {
            context.fireUserInboundEventTriggered(event)
            return
        }
        guard greeted else { return }
        context.fireErrorCaught(CommandTimeout())
    }
}

/// The client was silent for longer than the command timeout; the session's read fails with it.
struct CommandTimeout: Error {}
