import NIOCore

/// Ends a session whose client has been silent for the command timeout (RFC 5321 §4.5.3.2.7):
/// replies 421 4.4.2 and closes, as RFC 5321 §4.2 allows a server that must shut a session down.
///
/// The clock that counts is the client's: idle time before the greeting has gone out (a busy
/// server is slow to greet) is not held against it.
final class CommandTimeoutHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let hostname: String
    private var greeted = false

    init(hostname: String) {
        self.hostname = hostname
    }

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
        var buffer = context.channel.allocator.buffer(capacity: 64)
        buffer.writeString("421 4.4.2 \(hostname) Error: timeout exceeded\r\n")
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(buffer)).whenComplete { _ in
            channel.close(promise: nil)
        }
    }
}
