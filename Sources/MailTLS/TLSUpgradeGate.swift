internal import NIOCore

/// The handler ``STARTTLS`` puts at the front of a plaintext pipeline for the moment of an upgrade.
///
/// Added, it sends an empty buffer — the marker — down the pipeline behind everything the channel
/// has already delivered, so that the upgrade can tell whether the application left any plaintext
/// unread. From then on it holds back (and counts) whatever arrives, which was sent before the
/// peer could have seen the `220` reply and so must not be read as plaintext nor as TLS.
final class TLSUpgradeGate: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundOut = ByteBuffer

    /// Octets that arrived after the gate was added.
    private(set) var heldOctets = 0
    private(set) var isClosed = false
    private var context: ChannelHandlerContext?

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        heldOctets += unwrapInboundIn(data).readableBytes
    }

    func channelInactive(context: ChannelHandlerContext) {
        isClosed = true
        context.fireChannelInactive()
    }

    /// Sends the marker: an empty buffer and a read-complete, behind every earlier read.
    func sendMarker() {
        guard let context else { return }
        context.fireChannelRead(wrapInboundOut(context.channel.allocator.buffer(capacity: 0)))
        context.fireChannelReadComplete()
    }

    /// Writes `bytes` straight to the network side, past every handler behind the gate.
    func writeToNetwork(_ bytes: ByteBuffer) {
        context?.writeAndFlush(wrapOutboundOut(bytes), promise: nil)
    }

    /// Takes the gate out of the pipeline; what it held is dropped.
    func remove() {
        guard let context else { return }
        context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
    }
}

@available(*, unavailable)
extension TLSUpgradeGate: Sendable {}
