import NIOCore

/// Ends a session whose client has been silent for the command timeout (RFC 5321 §4.5.3.2.7):
/// replies 421 4.4.2 and closes, as RFC 5321 §4.2 allows a server that must shut a session down.
final class CommandTimeoutHandler: ChannelInboundHandler, Sendable {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let hostname: String

    init(hostname: String) {
        self.hostname = hostname
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        guard let idle = event as? IdleStateHandler.IdleStateEvent, idle == .read else {
            context.fireUserInboundEventTriggered(event)
            return
        }
        var buffer = context.channel.allocator.buffer(capacity: 64)
        buffer.writeString("421 4.4.2 \(hostname) Error: timeout exceeded\r\n")
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(buffer)).whenComplete { _ in
            channel.close(promise: nil)
        }
    }
}
