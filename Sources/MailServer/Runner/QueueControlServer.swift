import Logging
import NIOCore
import NIOPosix
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The server's end of the control socket (``QueueControl``): answers `swiftmta queue` and takes
/// `swiftmta sendmail` submissions while the server holds the spool.
final class QueueControlServer: Sendable {
    typealias Connection = NIOAsyncChannel<ByteBuffer, ByteBuffer>

    let path: String
    private let channel: NIOAsyncChannel<Connection, Never>
    private let task: Task<Void, Never>

    private init(path: String, channel: NIOAsyncChannel<Connection, Never>, task: Task<Void, Never>) {
        self.path = path
        self.channel = channel
        self.task = task
    }

    /// Why the socket could not be made.
    struct StartError: Error, CustomStringConvertible {
        let description: String
    }

    /// Binds `SPOOL/control` (replacing a socket left by a server that died: the spool's lock says
    /// none runs) and serves it.
    static func start(queue: MailQueue, runner: QueueRunner, hostname: String, authWarnings: Bool = true, logger: Logger) async throws(StartError) -> QueueControlServer {
        let path = queue.directory + "/" + QueueControl.socketName
        guard path.utf8.count < 104 else {
            throw StartError(description: "the control socket \(path) is longer than a Unix-domain socket path may be (103 octets): use a shorter queue.directory")
        }
        let channel: NIOAsyncChannel<Connection, Never>
        do {
            channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .bind(unixDomainSocketPath: path, cleanupExistingSocketFile: true) { child in
                    child.eventLoop.makeCompletedFuture { try Connection(wrappingChannelSynchronously: child) }
                }
        } catch {
            throw StartError(description: "cannot make the control socket \(path): \(error)")
        }
        // Any local user may connect (to submit); what each may do is decided by its credentials.
        _ = chmod(path, 0o666)
        let serverUID = geteuid()
        let task = Task<Void, Never> {
            try? await channel.executeThenClose { connections in
                await withDiscardingTaskGroup { group in
                    do {
                        for try await connection in connections {
                            group.addTask {
                                await handle(connection, queue: queue, runner: runner, hostname: hostname, authWarnings: authWarnings, serverUID: serverUID, logger: logger)
                            }
                        }
                    } catch {}
                }
            }
        }
        return QueueControlServer(path: path, channel: channel, task: task)
    }

    /// Stops taking requests and removes the socket.
    func stop() async {
        try? await channel.channel.close()
        task.cancel()
        await task.value
        unlink(path)
    }

    /// The peer's uid (SO_PEERCRED).
    private static func peerUID(_ channel: any Channel) async -> UInt32? {
        guard let provider = channel as? any SocketOptionProvider else { return nil }
        let future: EventLoopFuture<PeerCredentials> = provider.unsafeGetSocketOption(
            level: SocketOptionLevel(SOL_SOCKET), name: SocketOptionName(SO_PEERCRED))
        return try? await future.get().uid
    }

    private static func handle(
        _ connection: Connection, queue: MailQueue, runner: QueueRunner, hostname: String, authWarnings: Bool, serverUID: UInt32, logger: Logger
    ) async {
        let uid = await peerUID(connection.channel)
        try? await connection.executeThenClose { inbound, outbound in
            let writer = AnswerWriter(outbound: outbound)
            let output = CommandOutput { answer in writer.send(answer) }
            var reader = RequestReader(iterator: inbound.makeAsyncIterator())
            let status: Int32
            do {
                guard let request = try await reader.request() else { return }
                guard let uid else {
                    output.err("the control socket could not tell who is asking")
                    writer.send(.status(QueueCommands.noPermission))
                    await writer.finish()
                    return
                }
                let trusted = uid == 0 || uid == serverUID
                switch request {
                case .submit(let submission):
                    let submitter = LocalSubmission.Submitter(user: LocalSubmission.Submitter.userName(uid), uid: uid, trusted: trusted)
                    status = await submit(submission, reader: reader, submitter: submitter, queue: queue, runner: runner, hostname: hostname, authWarnings: authWarnings, output: output, logger: logger)
                case .list, .show, .remove, .run:
                    guard trusted else {
                        output.err("only root and the server's own user may look at or change the queue")
                        status = QueueCommands.noPermission
                        break
                    }
                    status = await perform(request, queue: queue, runner: runner, output: output)
                }
            } catch {
                output.err("control socket: \(error)")
                status = QueueCommands.usage
            }
            writer.send(.status(status))
            await writer.finish()
        }
    }

    static func perform(_ request: QueueControl.Request, queue: MailQueue, runner: QueueRunner, output: CommandOutput) async -> Int32 {
        switch request {
        case .list(let json): QueueCommands.list(queue, json: json, output: output)
        case .show(let id, let json): await QueueCommands.show(queue, id, json: json, output: output)
        case .remove(let id): await QueueCommands.remove(queue, id, output: output)
        case .run(let selection, let verbose): await QueueCommands.run(runner, selection, verbose: verbose, output: output)
        case .submit: QueueCommands.usage
        }
    }

    private static func submit(
        _ submission: QueueControl.Submission, reader: RequestReader, submitter: LocalSubmission.Submitter, queue: MailQueue,
        runner: QueueRunner, hostname: String, authWarnings: Bool, output: CommandOutput, logger: Logger
    ) async -> Int32 {
        let chunks = ChunkSequence(reader: ChunkSource(reader: reader))
        do {
            let id = try await LocalSubmission.store(submission, text: chunks, submitter: submitter, queue: queue, hostname: hostname, authWarnings: authWarnings)
            logger.info("\(id): from=<\(submission.sender.trimmingAngles)>, nrcpts=\(submission.recipients.count), proto=local, relay=\(submitter.user)@localhost")
            output.out(id.description)
            runner.submitted(id)
            return QueueCommands.ok
        } catch let refusal as LocalSubmission.Refusal {
            output.err(refusal.message)
            return refusal.status
        } catch let error as MailQueueError {
            output.err(error.isTemporary ? "the spool cannot take the message now: \(error)" : "\(error)")
            return error.isTemporary ? QueueCommands.temporaryFailure : QueueCommands.software
        } catch {
            output.err("\(error)")
            return QueueCommands.temporaryFailure
        }
    }
}

/// Linux's `struct ucred` (SO_PEERCRED), which Glibc's module does not export.
struct PeerCredentials: Sendable {
    var pid: Int32 = 0
    var uid: UInt32 = 0
    var gid: UInt32 = 0
}

/// Reads a request, then a submission's chunks, from the connection.
struct RequestReader {
    var iterator: NIOAsyncChannelInboundStream<ByteBuffer>.AsyncIterator
    var buffer = ByteBuffer()

    mutating func request() async throws -> QueueControl.Request? {
        while true {
            if let request = try QueueControl.decode(&buffer) { return request }
            guard var more = try await iterator.next() else { return nil }
            buffer.writeBuffer(&more)
        }
    }

    /// The next chunk of text; `nil` after the empty chunk.
    mutating func chunk() async throws -> ByteBuffer? {
        while true {
            if let newline = buffer.readableBytesView.firstIndex(of: UInt8(ascii: "\n")) {
                let lengthText = buffer.getString(at: buffer.readerIndex, length: newline - buffer.readerIndex) ?? ""
                guard let length = Int(lengthText), length >= 0, length <= 1 << 20 else {
                    throw QueueControl.ProtocolError(description: "bad chunk length")
                }
                if length == 0 {
                    buffer.moveReaderIndex(to: newline + 1)
                    return nil
                }
                if buffer.writerIndex - (newline + 1) >= length {
                    buffer.moveReaderIndex(to: newline + 1)
                    return buffer.readSlice(length: length)
                }
            } else if buffer.readableBytes > 32 {
                throw QueueControl.ProtocolError(description: "bad chunk length")
            }
            guard var more = try await iterator.next() else {
                throw QueueControl.ProtocolError(description: "the message ended before its last chunk")
            }
            buffer.writeBuffer(&more)
        }
    }
}

/// The reader, shared by the chunk sequence's iterator.
final class ChunkSource {
    var reader: RequestReader
    init(reader: RequestReader) { self.reader = reader }
}

/// A submission's text as an async sequence of chunks.
struct ChunkSequence: AsyncSequence {
    typealias Element = ByteBuffer
    let reader: ChunkSource

    struct AsyncIterator: AsyncIteratorProtocol {
        let reader: ChunkSource
        mutating func next() async throws -> ByteBuffer? { try await reader.reader.chunk() }
    }

    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(reader: reader) }
}

/// Writes answer lines, in order, without waiting for each.
final class AnswerWriter: Sendable {
    private let continuation: AsyncStream<QueueControl.Answer>.Continuation
    private let task: Task<Void, Never>

    init(outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>) {
        let (stream, continuation) = AsyncStream<QueueControl.Answer>.makeStream()
        self.continuation = continuation
        task = Task {
            for await answer in stream {
                try? await outbound.write(ByteBuffer(string: answer.encoded))
            }
        }
    }

    func send(_ answer: QueueControl.Answer) {
        continuation.yield(answer)
    }

    func finish() async {
        continuation.finish()
        await task.value
    }
}
