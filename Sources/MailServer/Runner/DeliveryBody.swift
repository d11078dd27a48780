import NIOCore

/// A queued message's text as a delivery agent sends it: whole in memory (small messages, read
/// once and shared by every destination), or streamed from the spool; either way with its header
/// replaced when masquerading rewrote it.
enum DeliveryBody: Sendable {
    /// The whole text.
    case buffer(ByteBuffer)
    /// The text read from the spool as it is sent; `header` replaces its first `replacing` octets.
    case stream(QueueMessageBody, header: ByteBuffer?, replacing: Int)
}

/// The pieces of a streamed ``DeliveryBody``: the replacement header, then the spooled text
/// after the octets it replaces.
struct DeliveryStream: AsyncSequence, Sendable {
    typealias Element = ByteBuffer

    let body: QueueMessageBody
    let header: ByteBuffer?
    let replacing: Int

    struct AsyncIterator: AsyncIteratorProtocol {
        var source: QueueMessageBody.AsyncIterator
        var header: ByteBuffer?
        var skip: Int

        mutating func next() async throws -> ByteBuffer? {
            if let header {
                self.header = nil
                return header
            }
            while var piece = try await source.next() {
                if skip > 0 {
                    let dropped = Swift.min(skip, piece.readableBytes)
                    piece.moveReaderIndex(forwardBy: dropped)
                    skip -= dropped
                }
                if piece.readableBytes > 0 { return piece }
            }
            return nil
        }
    }

    func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(source: body.makeAsyncIterator(), header: header, skip: header == nil ? 0 : replacing)
    }
}
