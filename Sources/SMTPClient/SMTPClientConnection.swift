internal import MailTLS
public import NIOCore
public import SMTPProtocol
import Synchronization

/// One open session with a server, for any number of messages: the object a queue runner keeps
/// while it delivers to one destination.
///
/// ```swift
/// let connection = try await SMTPClientConnection.open(
///     to: .mailExchangers(for: "example.org", tls: .dane), configuration: configuration)
/// for message in queue {
///     guard connection.canSend else { break }        // the reuse limit, or a closed session
///     let result = try await connection.send(message.body, envelope: message.envelope)
///     for recipient in result.recipients { … }      // accepted / temporary / permanent, with the reply
/// }
/// await connection.close()                          // QUIT
/// ```
///
/// ``open(to:configuration:)`` finds the server (MX records, addresses, fallback, RFC 5321 §5.1),
/// opens the session — greeting, EHLO (HELO for an old server), STARTTLS by the destination's
/// policy, AUTH with its credentials — and returns once the session is ready for MAIL. Each
/// ``send(_:envelope:)`` is one transaction (RFC 5321 §3.3), pipelined when the server offers
/// PIPELINING (RFC 2920); transactions on one connection follow one another, the later waiting for
/// the earlier. A connection idle for longer than ``SMTPClientConfiguration/resetAfterIdle`` is
/// checked with RSET first; after ``SMTPClientConfiguration/maximumMessagesPerConnection``
/// transactions it takes no more (``canSend``) and is best closed.
///
/// Cancelling the task that waits on a connection closes it.
public final class SMTPClientConnection: Sendable {
    /// The server the session runs with: host, address, MX preference, what it offers, TLS and AUTH.
    public var server: SMTPServerInfo { state.withLock { $0.server } }
    /// The destination the connection was opened for.
    public let destination: SMTPDestination

    private let channel: any Channel
    private let handler: NIOLoopBound<SMTPClientSessionHandler>
    private let configuration: SMTPClientConfiguration
    private let state: Mutex<State>
    private let turns = SerialTurns()

    private struct State: Sendable {
        var server: SMTPServerInfo
        var transactions = 0
        var lastUse = ContinuousClock.now
        var closed = false
    }

    init(
        channel: any Channel, handler: NIOLoopBound<SMTPClientSessionHandler>, server: SMTPServerInfo,
        destination: SMTPDestination, configuration: SMTPClientConfiguration
    ) {
        self.channel = channel
        self.handler = handler
        self.destination = destination
        self.configuration = configuration
        self.state = Mutex(State(server: server))
        self.executor = EventLoopTaskExecutor(channel.eventLoop)
    }

    /// Opens a session with `destination`, trying its servers in turn (RFC 5321 §5.1).
    ///
    /// - Throws: ``SMTPClientError`` of the last server tried when none could be used, its message
    ///   listing what each server did; at once for what no other server would change (AUTH refused,
    ///   a TLS configuration that does not load, a domain that does not exist or has a null MX).
    public static func open(
        to destination: SMTPDestination, configuration: SMTPClientConfiguration = SMTPClientConfiguration()
    ) async throws(SMTPClientError) -> SMTPClientConnection {
        try await SMTPConnector(destination: destination, configuration: configuration).open()
    }

    /// The connection's event loop as a task executor. A task that sends many messages over the
    /// connection — a queue runner's — can run its loop on it, and then no message costs a
    /// switch between threads:
    ///
    /// ```swift
    /// try await withTaskExecutorPreference(connection.taskExecutor) {
    ///     for message in batch { results.append(try await connection.send(message.body, envelope: message.envelope)) }
    /// }
    /// ```
    ///
    /// Code run so shares the event loop with the connection's I/O: it must not block (no file,
    /// DNS or database work without a hop to a thread pool).
    public var taskExecutor: any TaskExecutor { executor }

    private let executor: EventLoopTaskExecutor

    /// How many transactions the connection has carried.
    public var messagesSent: Int { state.withLock { $0.transactions } }

    /// Whether the connection can take another message: open, its session usable, and under the
    /// reuse limit.
    public var canSend: Bool {
        let (closed, count) = state.withLock { ($0.closed, $0.transactions) }
        return !closed && channel.isActive && count < configuration.maximumMessagesPerConnection
    }

    /// Sends one message whose text comes from `body`, a piece at a time: it is never needed whole
    /// in memory. With DATA it is dot-stuffed and its line ends made CRLF, and the end is
    /// `CRLF.CRLF` (RFC 5321 §4.5.2); with BDAT (CHUNKING preferred, or BINARYMIME) it goes as
    /// it is (RFC 3030).
    ///
    /// - Returns: each recipient's outcome — refusals, temporary or permanent, are results, not
    ///   errors — and the reply that ended the message.
    /// - Throws: ``SMTPClientError`` when the session broke (a lost connection, a 421, a timeout,
    ///   a body that threw); its ``SMTPClientError/partialResult`` holds the answers received
    ///   before. A body that fails or a task that is cancelled mid-message closes the connection
    ///   before the final dot, so the server never takes a message cut short.
    public func send<Body: AsyncSequence>(_ body: Body, envelope: SMTPEnvelope) async throws(SMTPClientError) -> SMTPSendResult
    where Body.Element == ByteBuffer {
        try await turns.withTurn { () async throws(SMTPClientError) -> SMTPSendResult in
            let resetFirst = try prepareTransaction()
            let progress = try await request { handler, loop in
                handler.begin(envelope, buffered: nil, resetFirst: resetFirst, eventLoop: loop)
            }
            switch progress {
            case .finished(let result):
                return result
            case .readyForText:
                break
            }
            do {
                for try await piece in body {
                    let wanted = try await request { handler, loop in handler.writeText(piece, eventLoop: loop) }
                    if !wanted { break }
                }
            } catch let error as SMTPClientError {
                throw error
            } catch {
                let failure = SMTPClientError(
                    .messageSource, stage: .messageText, server: server.description,
                    "reading the message text failed: \(error); the connection was closed before the final dot")
                abandon(failure)
                throw failure
            }
            if Task.isCancelled {
                let failure = SMTPClientError(.cancelled, stage: .messageText, server: server.description, "the task was cancelled")
                abandon(failure)
                throw failure
            }
            switch try await request({ handler, loop in handler.finishText(eventLoop: loop) }) {
            case .finished(let result):
                return result
            case .readyForText:
                throw SMTPClientError(.protocolViolation, stage: .dataTermination, server: server.description, "the session asked for text twice")
            }
        }
    }

    /// Sends one message held in memory. Its size goes with MAIL as SIZE when the server offers it
    /// (RFC 1870), unless the envelope already says one.
    public func send(_ message: ByteBuffer, envelope: SMTPEnvelope) async throws(SMTPClientError) -> SMTPSendResult {
        var envelope = envelope
        if envelope.parameters.size == nil { envelope.parameters.size = message.readableBytes }
        let sized = envelope
        return try await turns.withTurn { () async throws(SMTPClientError) -> SMTPSendResult in
            let resetFirst = try prepareTransaction()
            let progress = try await request { handler, loop in
                handler.begin(sized, buffered: message, resetFirst: resetFirst, eventLoop: loop)
            }
            switch progress {
            case .finished(let result):
                return result
            case .readyForText:
                throw SMTPClientError(.protocolViolation, stage: .dataInitiation, server: server.description, "the session asked for text it already has")
            }
        }
    }

    /// Sends one message given as text (its line ends are made CRLF on the way).
    public func send(_ message: String, envelope: SMTPEnvelope) async throws(SMTPClientError) -> SMTPSendResult {
        try await send(ByteBuffer(string: message), envelope: envelope)
    }

    /// Ends the session: QUIT and its 221 (RFC 5321 §4.1.1.10), then the connection closes. Safe to
    /// call more than once, and on a connection that has failed.
    public func close() async {
        state.withLock { $0.closed = true }
        let handler = self.handler
        let future = channel.eventLoop.flatSubmit { handler.value.quit(eventLoop: handler.eventLoop) }
        _ = try? await future.get()
    }

    // MARK: - Internals

    /// Counts the transaction and says whether the connection should be checked with RSET first.
    private func prepareTransaction() throws(SMTPClientError) -> Bool {
        let limit = configuration.maximumMessagesPerConnection
        let resetAfter = configuration.resetAfterIdle
        let outcome: Result<Bool, SMTPClientError> = state.withLock { state in
            if state.closed {
                return .failure(SMTPClientError(.invalidRequest, stage: .mail, server: state.server.description, "the connection has been closed"))
            }
            if state.transactions >= limit {
                return .failure(SMTPClientError(
                    .invalidRequest, stage: .mail, server: state.server.description,
                    "the connection has carried its limit of \(limit) messages; open another"))
            }
            let idle = ContinuousClock.now - state.lastUse
            state.transactions += 1
            state.lastUse = .now
            return .success(state.transactions > 1 && resetAfter.map { idle > $0 } == true)
        }
        return try outcome.get()
    }

    private func abandon(_ failure: SMTPClientError) {
        let handler = self.handler
        channel.eventLoop.execute { handler.value.abandon(because: failure) }
    }

    /// Runs `body` on the event loop and waits for its future; cancellation closes the connection.
    private func request<T: Sendable>(
        _ body: @escaping @Sendable (SMTPClientSessionHandler, any EventLoop) -> EventLoopFuture<T>
    ) async throws(SMTPClientError) -> T {
        let handler = self.handler
        let eventLoop = channel.eventLoop
        do {
            let value = try await withTaskCancellationHandler {
                // On the event loop already (a task that prefers ``taskExecutor``): no hop.
                let future = eventLoop.inEventLoop ? body(handler.value, eventLoop) : eventLoop.flatSubmit { body(handler.value, eventLoop) }
                return try await future.get()
            } onCancel: {
                eventLoop.execute { handler.value.cancel() }
            }
            state.withLock { $0.lastUse = .now }
            return value
        } catch let error as SMTPClientError {
            if !error.isUsableAfter { state.withLock { $0.closed = true } }
            throw error
        } catch {
            state.withLock { $0.closed = true }
            throw SMTPClientError(.connectionLost, stage: .mail, server: server.description, "\(error)")
        }
    }
}

extension SMTPClientError {
    /// Whether the session survives this error (only a request refused without touching it).
    var isUsableAfter: Bool { kind == .invalidRequest && partialResult == nil }
}

/// Lets one task at a time through, in the order they came: transactions on a connection follow
/// one another. A waiting task that is cancelled leaves the line.
final class SerialTurns: Sendable {
    private struct Line: Sendable {
        var busy = false
        var waiting: [(id: Int, continuation: CheckedContinuation<Bool, Never>)] = []
        var nextID = 0
    }

    private let line = Mutex(Line())

    func withTurn<T: Sendable>(_ body: () async throws(SMTPClientError) -> T) async throws(SMTPClientError) -> T {
        guard await enter() else {
            throw SMTPClientError(.cancelled, stage: .mail, "the task was cancelled while waiting for the connection")
        }
        defer { leave() }
        return try await body()
    }

    private func enter() async -> Bool {
        let id: Int? = line.withLock { line in
            if !line.busy {
                line.busy = true
                return nil
            }
            line.nextID += 1
            return line.nextID
        }
        guard let id else { return true }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let resumeNow = line.withLock { line -> Bool in
                    if Task.isCancelled { return true }
                    line.waiting.append((id, continuation))
                    return false
                }
                if resumeNow { continuation.resume(returning: false) }
            }
        } onCancel: {
            let cancelled = line.withLock { line -> CheckedContinuation<Bool, Never>? in
                guard let index = line.waiting.firstIndex(where: { $0.id == id }) else { return nil }
                return line.waiting.remove(at: index).continuation
            }
            cancelled?.resume(returning: false)
        }
    }

    private func leave() {
        let next = line.withLock { line -> CheckedContinuation<Bool, Never>? in
            guard !line.waiting.isEmpty else {
                line.busy = false
                return nil
            }
            return line.waiting.removeFirst().continuation
        }
        next?.resume(returning: true)
    }
}
