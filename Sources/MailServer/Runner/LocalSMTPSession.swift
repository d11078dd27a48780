import Logging
import MailRouting
import NIOCore
import NIOPosix
import SMTPProtocol
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

extension SendmailCommandLine {
    /// `sendmail -bs`: an SMTP session (RFC 5321) on standard input and output, as a local
    /// submission: the server's own session code over a pipe channel, each recipient answered by
    /// MailRouting as for a local submission, each message queued as `-bm` queues it.
    static func smtpSession(_ options: Options) async -> Int32 {
        let context: QueueContext
        switch QueueContext.load(file: options.configurationFile) {
        case .success(let loaded): context = loaded
        case .failure(let error):
            QueueCommandLine.printLine("421 4.3.0 \(error)", to: STDOUT_FILENO)
            return configurationError
        }
        let router: Router
        do {
            router = try RoutingSetup.router(for: context.configuration, registry: RoutingSetup.registry(nameservers: context.configuration.nameservers))
        } catch {
            QueueCommandLine.printLine("421 4.3.0 the configuration's maps cannot be used", to: STDOUT_FILENO)
            return configurationError
        }
        let hostname = context.configuration.hostname
        let listener = ServerConfiguration.Listener(host: "localhost", port: 0, mode: .smtp)
        var server = ServerConfiguration(hostname: hostname, listeners: [listener])
        if let greeting = context.configuration.smtp.greeting { server.greeting = greeting }
        // Standard input and output may be pipes, files or a terminal: a socket pair carries the
        // session, and two threads of our own copy between it and them.
        var pair: [Int32] = [-1, -1]
        guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &pair) == 0 else {
            QueueCommandLine.printLine("sendmail: socketpair: \(String(cString: strerror(errno)))", to: STDERR_FILENO)
            return software
        }
        let pump = StandardIOPump(socket: pair[1])
        let channel: NIOAsyncChannel<ByteBuffer, ByteBuffer>
        do {
            channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .channelOption(.allowRemoteHalfClosure, value: true)
                .withConnectedSocket(pair[0]) { channel in
                    channel.eventLoop.makeCompletedFuture { try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel) }
                }
        } catch {
            QueueCommandLine.printLine("sendmail: standard input and output cannot carry SMTP: \(error)", to: STDERR_FILENO)
            return software
        }
        guard pump.start() else {
            QueueCommandLine.printLine("sendmail: cannot start the threads that copy standard input and output", to: STDERR_FILENO)
            return software
        }
        var logger = Logger(label: "swiftmta.sendmail")
        logger.logLevel = .warning
        let backend = LocalSubmissionBackend(router: router, context: context, queueOnly: options.queueOnly)
        let session = SMTPServerSession(
            configuration: server, listener: listener, backend: backend, damping: nil, registry: ConnectionRegistry(), logger: logger)
        await session.run(on: channel, handshake: nil)
        try? await offPool { pump.wait() }
        return ok
    }

    /// Runs blocking `body` on NIO's blocking-I/O pool.
    private static func offPool(_ body: @escaping @Sendable () -> Void) async throws {
        try await NIOThreadPool.singleton.runIfActive(body)
    }
}

/// Copies standard input into one end of the session's socket pair and what comes back to
/// standard output, on two threads of its own (the copies block).
final class StandardIOPump: @unchecked Sendable {
    private let socket: Int32
    private let lock = QueueLock(conditions: 1)
    private var outputDone = false

    init(socket: Int32) {
        self.socket = socket
    }

    func start() -> Bool {
        let socket = socket
        let inbound = QueueThread.start(name: "sendmail-stdin") {
            Self.copy(from: STDIN_FILENO, to: socket)
            shutdown(socket, Int32(SHUT_WR))
        }
        let outbound = QueueThread.start(name: "sendmail-stdout") { [self] in
            Self.copy(from: socket, to: STDOUT_FILENO)
            lock.withLock {
                outputDone = true
                lock.broadcast(0)
            }
        }
        return inbound && outbound
    }

    /// Waits (blocking) until every reply of the session is on standard output: the output thread
    /// ends when the session closes its end. The input thread may still wait on a terminal; the
    /// process's exit ends it.
    func wait() {
        lock.lock()
        while !outputDone { lock.wait(0) }
        lock.unlock()
    }

    private static func copy(from source: Int32, to destination: Int32) {
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(source, $0.baseAddress, $0.count) }
            if count < 0, errno == EINTR { continue }
            guard count > 0 else { return }
            var offset = 0
            while offset < count {
                let written = buffer.withUnsafeBytes { write(destination, $0.baseAddress! + offset, count - offset) }
                if written < 0, errno == EINTR { continue }
                guard written > 0 else { return }
                offset += written
            }
        }
    }
}

/// The embedding API's backend for `sendmail -bs`.
struct LocalSubmissionBackend: SMTPBackend {
    let router: Router
    let context: QueueContext
    let queueOnly: Bool

    func makeSession(for connection: SMTPConnectionInfo) async throws -> any SMTPSession {
        LocalSubmissionSession(backend: self)
    }
}

struct LocalSubmissionSession: SMTPSession {
    let backend: LocalSubmissionBackend
    var sender: ReversePath?
    var parameters = MailParameters()
    var recipients: [SMTPEnvelope.Recipient] = []

    mutating func mail(from path: ReversePath, parameters: MailParameters) async throws -> SMTPDecision {
        sender = path
        self.parameters = parameters
        return .accept
    }

    mutating func recipient(_ path: ForwardPath, parameters: RecipientParameters) async throws -> SMTPDecision {
        let answer = await backend.router.answerRecipient(
            RoutingAddress(path), sender: sender?.mailbox.map { RoutingAddress($0) }, mail: nil, session: SessionFacts(client: nil))
        if answer.isRefusal { return .reject(answer.reply) }
        recipients.append(SMTPEnvelope.Recipient(path, parameters: parameters))
        return .accept(answer.reply)
    }

    mutating func message() async throws -> any SMTPMessageReceiver {
        var words: [String] = []
        if let ret = parameters.dsnReturn { words.append("RET=\(ret.rawValue)") }
        if let envid = parameters.envelopeID { words.append("ENVID=\(envid)") }
        let notify = recipients.compactMap(\.parameters.notify).first
        if let notify { words.append("NOTIFY=\(notify)") }
        let submission = QueueControl.Submission(
            sender: sender?.mailbox?.quoted ?? "", recipients: recipients.map { recipient in
                switch recipient.path.recipient {
                case .mailbox(let mailbox): mailbox.quoted
                case .postmaster: "postmaster"
                }
            }, parameters: words, senderGiven: true)
        return LocalSubmissionReceiver(submission: submission, context: backend.context, queueOnly: backend.queueOnly)
    }

    mutating func reset() async {
        sender = nil
        parameters = MailParameters()
        recipients = []
    }
}

/// Streams one message of a `-bs` session into its submission.
struct LocalSubmissionReceiver: SMTPMessageReceiver {
    let continuation: AsyncThrowingStream<ByteBuffer, any Error>.Continuation
    let task: Task<SendmailCommandLine.SubmissionOutcome, Never>

    init(submission: QueueControl.Submission, context: QueueContext, queueOnly: Bool) {
        let (stream, continuation) = AsyncThrowingStream<ByteBuffer, any Error>.makeStream()
        self.continuation = continuation
        task = Task { await SendmailCommandLine.deliver(submission, text: stream, context: context, queueOnly: queueOnly) }
    }

    mutating func append(_ text: ByteBuffer) async throws {
        continuation.yield(text)
    }

    mutating func finish() async throws -> SMTPDecision {
        continuation.finish()
        switch await task.value {
        case .queued(let id):
            return .accept(.messageAccepted(queueID: id))
        case .failed(let status, let message):
            return .reject(SMTPReply(status == SendmailCommandLine.temporaryFailure ? 451 : 554,
                                     status == SendmailCommandLine.temporaryFailure ? .temporarySystemError : EnhancedStatusCode(5, 3, 0)!, message))
        }
    }

    mutating func abort() async {
        continuation.finish(throwing: CancellationError())
        _ = await task.value
    }
}
