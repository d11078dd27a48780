public import Logging
import MailTLS
import Metrics
public import NIOCore
public import NIOPosix
import SMTPProtocol
import Synchronization

/// An SMTP server: listeners bound and accepting, one session per connection, each asking a
/// ``SMTPBackend`` for its decisions. The reference server `swiftmta serve` is one of these,
/// with MailRouting's policy as its backend.
///
/// ```swift
/// let server = try await SMTPServer.bind(
///     configuration: ServerConfiguration(hostname: "mx.example.org", listeners: [.init(host: "127.0.0.1", port: 2525, mode: .smtp)]),
///     backend: Inbox(), logger: Logger(label: "inbox"))
/// try await server.run()   // until shutdown(gracePeriod:) or cancellation
/// ```
///
/// Limits hold whatever clients do: each listener admits at most
/// ``ServerConfiguration/Listener/maximumConnections`` connections and
/// ``ServerConfiguration/Listener/maximumConnectionsPerClient`` from one address; others get
/// `421 4.7.0` and are closed without a session.
public struct SMTPServer: Sendable {
    /// A connection the listener accepted, waiting in the accept stream for its session.
    ///
    /// When the stream ends (the listener closed for shutdown or cancellation) connections still
    /// waiting in it are dropped without a session; NIO traps when an async channel's writer is
    /// released unfinished, so one that no session took is finished and closed here instead.
    final class Accepted: Sendable {
        private let connection: SMTPServerSession.Connection
        let handshake: EventLoopFuture<TLSSessionFacts>?
        private let taken = Mutex(false)

        init(connection: SMTPServerSession.Connection, handshake: EventLoopFuture<TLSSessionFacts>?) {
            self.connection = connection
            self.handshake = handshake
        }

        /// The connection, for the session that serves (and finally closes) it.
        func take() -> SMTPServerSession.Connection {
            taken.withLock { $0 = true }
            return connection
        }

        deinit {
            guard !taken.withLock({ $0 }) else { return }
            let connection = self.connection
            Task { try? await connection.executeThenClose { _, _ in } }
        }
    }

    enum ChildOutput: Sendable {
        case accepted(Accepted)
        case refused
    }

    struct BoundListener: Sendable {
        let listener: ServerConfiguration.Listener
        let channel: NIOAsyncChannel<ChildOutput, Never>
    }

    /// The configuration the server runs with now (the last one given to
    /// ``reload(configuration:backend:)``).
    public var configuration: ServerConfiguration { current.settings.configuration }
    private var backend: any SMTPBackend { current.settings.backend }
    let current: ServerSettings
    private let listeners: [BoundListener]
    private let registry: ConnectionRegistry
    private let logger: Logger

    /// The addresses the server actually listens on, in the order of the configuration's listeners
    /// (a configured port 0 shows the port the system chose).
    public var localAddresses: [SocketAddress] {
        listeners.compactMap { $0.channel.channel.localAddress }
    }

    /// Binds every listener of `configuration`.
    ///
    /// - Throws: ``ServerStartError`` naming the address of the first listener that cannot be
    ///   bound (in use, not permitted, not an address of this host), after closing those already
    ///   bound; or when an smtps listener has no certificate.
    public static func bind(
        configuration: ServerConfiguration,
        backend: any SMTPBackend,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger
    ) async throws(ServerStartError) -> SMTPServer {
        var bound: [BoundListener] = []
        let current = ServerSettings(
            configuration: configuration, backend: backend,
            damping: configuration.authentication.map { AuthenticationDamping(configuration: $0.damping) })
        do throws(ServerStartError) {
            for listener in configuration.listeners {
                if listener.mode == .smtps, configuration.tls == nil {
                    throw ServerStartError(address: "\(listener.host):\(listener.port)", reason: "an smtps listener needs a TLS certificate")
                }
                let limiter = ConnectionLimiter(maximum: listener.maximumConnections, maximumPerClient: listener.maximumConnectionsPerClient)
                let channel: NIOAsyncChannel<ChildOutput, Never>
                do {
                    channel = try await ServerBootstrap(group: eventLoopGroup)
                        .serverChannelOption(.backlog, value: 1024)
                        .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                        .childChannelOption(.allowRemoteHalfClosure, value: true)
                        .bind(host: listener.host, port: listener.port) { channel in
                            channel.eventLoop.makeCompletedFuture {
                                // What a reload changed applies from the next connection on.
                                let configuration = current.settings.configuration
                                return try Self.initialize(
                                    channel, listener: listener, limiter: limiter, tls: configuration.tls, hostname: configuration.hostname,
                                    timeout: configuration.limits.commandTimeout, logger: logger)
                            }
                        }
                } catch {
                    throw ServerStartError(address: Self.describe(listener), reason: Self.reason(error))
                }
                bound.append(BoundListener(listener: listener, channel: channel))
            }
        } catch {
            for listener in bound {
                try? await listener.channel.channel.close()
            }
            throw error
        }
        return SMTPServer(current: current, listeners: bound, registry: ConnectionRegistry(), logger: logger)
    }

    private init(current: ServerSettings, listeners: [BoundListener], registry: ConnectionRegistry, logger: Logger) {
        self.current = current
        self.listeners = listeners
        self.registry = registry
        self.logger = logger
    }

    /// Sets up an accepted connection on its event loop: counted against the limits (or refused
    /// with 421), TLS in front for smtps, the command timeout, and the async channel.
    private static func initialize(
        _ channel: any Channel, listener: ServerConfiguration.Listener, limiter: ConnectionLimiter, tls: TLSServerContext?,
        hostname: String, timeout: Duration, logger: Logger
    ) throws -> ChildOutput {
        let client = channel.remoteAddress?.ipAddress ?? "unknown"
        let admission = limiter.admit(client)
        Counter(label: "swiftmta_connections_total", dimensions: [("listener", "\(listener.mode)"), ("admitted", "\(admission == .admitted)")]).increment()
        guard admission == .admitted else {
            logger.notice("rejecting connection from [\(client)] on \(listener.mode): \(admission == .clientFull ? "too many connections from this address" : "too many connections")")
            // Implicit TLS: a plaintext 421 would be a protocol error; the connection just closes.
            let reply = listener.mode == .smtps ? nil : ServerReplies.tooManyConnections(host: hostname, fromClient: admission == .clientFull)
            try channel.pipeline.syncOperations.addHandler(RefusalHandler(reply: reply))
            return .refused
        }
        channel.closeFuture.whenComplete { _ in limiter.release(client) }
        var handshake: EventLoopFuture<TLSSessionFacts>?
        if listener.mode == .smtps, let tls {
            let promise = channel.eventLoop.makePromise(of: TLSSessionFacts.self)
            try channel.pipeline.syncOperations.addHandler(TLSHandler(serverContext: tls, handshakePromise: promise))
            handshake = promise.futureResult
        }
        try channel.pipeline.syncOperations.addHandler(IdleStateHandler(readTimeout: TimeAmount(timeout)))
        try channel.pipeline.syncOperations.addHandler(CommandTimeoutHandler())
        let connection = try SMTPServerSession.Connection(wrappingChannelSynchronously: channel)
        return .accepted(Accepted(connection: connection, handshake: handshake))
    }

    /// Accepts and serves connections on every listener until ``shutdown(gracePeriod:)`` has
    /// finished or the task is cancelled; returns when every session has ended.
    ///
    /// The accept loops run in a task of their own that cancellation does not reach: cancelling
    /// closes the listening sockets instead, so that every connection already accepted is still
    /// handed to a session (which sees its connection closed) rather than dropped.
    ///
    /// - Parameter executor: where the sessions run (SE-0417 task executor preference): by
    ///   default Swift's global concurrent executor; an application that must keep its SMTP
    ///   endpoint apart from its other work gives threads of its own.
    public func run(on executor: (any TaskExecutor)? = nil) async throws {
        let acceptor = Task(executorPreference: executor) {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for bound in listeners {
                    group.addTask {
                        try await self.serve(bound)
                    }
                }
                try await group.waitForAll()
            }
        }
        try await withTaskCancellationHandler {
            try await acceptor.value
        } onCancel: {
            for bound in listeners {
                bound.channel.channel.close(promise: nil)
            }
            registry.closeAll()
        }
    }

    /// Shuts down as RFC 5321 §3.8 asks: stops accepting, answers each open session's next command
    /// with `421 4.3.2`, and after `gracePeriod` (default: the limits') closes what is still open.
    /// ``run()`` returns once every session has ended.
    public func shutdown(gracePeriod: Duration? = nil) async {
        let grace = gracePeriod ?? configuration.limits.shutdownGracePeriod
        logger.notice("shutting down: \(registry.count) sessions open, grace period \(grace)")
        registry.beginDraining()
        for bound in listeners {
            try? await bound.channel.channel.close()
        }
        let deadline = ContinuousClock.now + grace
        while registry.count > 0, ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(50))
        }
        if registry.count > 0 {
            logger.notice("grace period over: closing \(registry.count) sessions")
        }
        registry.closeAll()
    }

    private func serve(_ bound: BoundListener) async throws {
        let listener = bound.listener
        try await bound.channel.executeThenClose { connections in
            try await withThrowingDiscardingTaskGroup { group in
                // Closing the listener for shutdown may end this stream with an error; the sessions
                // already accepted must still finish (an error thrown here would cancel them all).
                do {
                    for try await output in connections {
                        guard case .accepted(let accepted) = output else { continue }
                        // A session keeps the configuration and backend it started with, whatever
                        // reloads happen while it runs.
                        let settings = current.settings
                        group.addTask {
                            let connection = accepted.take()
                            let token = registry.add(connection.channel)
                            let open = SessionMetrics.open(listener)
                            open.increment()
                            defer {
                                open.decrement()
                                registry.remove(token)
                            }
                            var logger = self.logger
                            logger[metadataKey: "listener"] = "\(listener.mode)"
                            let session = SMTPServerSession(
                                configuration: settings.configuration, listener: listener, backend: settings.backend, damping: settings.damping,
                                registry: registry, logger: logger)
                            await session.run(on: connection, handshake: accepted.handshake)
                        }
                    }
                } catch where registry.isDraining {
                    logger.debug("listener \(listener.mode) closed for shutdown: \(error)")
                }
            }
        }
    }

    static func describe(_ listener: ServerConfiguration.Listener) -> String {
        listener.host.contains(":") ? "[\(listener.host)]:\(listener.port)" : "\(listener.host):\(listener.port)"
    }

    /// The system's reason for a bind failure, without NIO's call description.
    static func reason(_ error: any Error) -> String {
        if let error = error as? IOError {
            switch error.errnoCode {
            case 98: return "the address is already in use (EADDRINUSE)"
            case 13: return "permission denied: ports below 1024 need privileges (EACCES)"
            case 99: return "the address is not one of this host's (EADDRNOTAVAIL)"
            default: return "\(error)"
            }
        }
        return "\(error)"
    }
}

/// Answers a connection over the limits with its 421 (or nothing) and closes it.
private final class RefusalHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    private let reply: SMTPReply?
    private var refused = false

    init(reply: SMTPReply?) {
        self.reply = reply
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { refuse(context: context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        refuse(context: context)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {}

    private func refuse(context: ChannelHandlerContext) {
        guard !refused else { return }
        refused = true
        guard let reply else {
            context.close(promise: nil)
            return
        }
        var buffer = context.channel.allocator.buffer(capacity: 96)
        reply.encode(into: &buffer)
        let channel = context.channel
        context.writeAndFlush(NIOAny(buffer)).whenComplete { _ in channel.close(promise: nil) }
    }
}
