import NIOCore
import NIOPosix
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The command's end of the control socket (``QueueControl``).
enum QueueControlClient {
    /// No server answers at the socket: the command may open the spool itself.
    struct Unreachable: Error {}

    /// Sends `request` (with `text` for a submission) to the server of the spool in `directory`;
    /// each answer line goes to `answer`; returns the exit status the server gave.
    ///
    /// - Throws: ``Unreachable`` when no server listens there.
    static func send<Text: AsyncSequence>(
        _ request: QueueControl.Request, directory: String, text: Text?, answer: @escaping (QueueControl.Answer) -> Void
    ) async throws -> Int32 where Text.Element == ByteBuffer {
        let path = directory + "/" + QueueControl.socketName
        var status = stat()
        guard path.utf8.count < 104, stat(path, &status) == 0, status.st_mode & S_IFMT == S_IFSOCK else { throw Unreachable() }
        let connection: NIOAsyncChannel<ByteBuffer, ByteBuffer>
        do {
            connection = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .connect(unixDomainSocketPath: path) { channel in
                    channel.eventLoop.makeCompletedFuture { try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel) }
                }
        } catch {
            throw Unreachable()
        }
        return try await connection.executeThenClose { inbound, outbound in
            try await outbound.write(ByteBuffer(string: QueueControl.encode(request)))
            if let text {
                for try await piece in text where piece.readableBytes > 0 {
                    var chunk = ByteBuffer(string: "\(piece.readableBytes)\n")
                    chunk.writeImmutableBuffer(piece)
                    try await outbound.write(chunk)
                }
                try await outbound.write(ByteBuffer(string: "0\n"))
            }
            var pending = ByteBuffer()
            for try await var piece in inbound {
                pending.writeBuffer(&piece)
                while let newline = pending.readableBytesView.firstIndex(of: UInt8(ascii: "\n")) {
                    let line = pending.readString(length: newline - pending.readerIndex) ?? ""
                    pending.moveReaderIndex(forwardBy: 1)
                    guard let parsed = QueueControl.Answer(line: line) else { continue }
                    if case .status(let code) = parsed { return code }
                    answer(parsed)
                }
            }
            answer(.error("the server closed the control socket before answering"))
            return QueueCommands.temporaryFailure
        }
    }
}

/// No text (for requests other than a submission).
struct NoText: AsyncSequence, Sendable {
    typealias Element = ByteBuffer
    struct AsyncIterator: AsyncIteratorProtocol {
        mutating func next() async throws -> ByteBuffer? { nil }
    }
    func makeAsyncIterator() -> AsyncIterator { AsyncIterator() }
}
