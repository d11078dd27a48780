public import Logging
public import NIOCore
public import NIOPosix

/// The SMTP server: its listeners, bound and accepting.
///
/// ```swift
/// let server = try await SMTPServer.bind(configuration: .embeddedDefault(hostname: "mx.example.test"),
///                                        logger: logger)
/// try await server.run()   // until the task is cancelled
/// ```
public struct SMTPServer: Sendable {
    typealias Connection = NIOAsyncChannel<ByteBuffer, ByteBuffer>

    struct BoundListener: Sendable {
        let listener: ServerConfiguration.Listener
        let channel: NIOAsyncChannel<Connection, Never>
    }

    /// The configuration the server runs with.
    public let configuration: ServerConfiguration
    private let listeners: [BoundListener]
    private let logger: Logger

    /// The addresses the server actually listens on, in the order of the configuration's listeners
    /// (a configured port 0 shows the port the system chose).
    public var localAddresses: [SocketAddress] {
        listeners.compactMap { $0.channel.channel.localAddress }
    }

    private init(configuration: ServerConfiguration, listeners: [BoundListener], logger: Logger) {
        self.configuration = configuration
        self.listeners = listeners
        self.logger = logger
    }

    /// Binds every listener of `configuration`.
    ///
    /// - Throws: the bind error of the first listener that cannot be bound (address in use,
    ///   permission denied), after closing those already bound.
    public static func bind(
        configuration: ServerConfiguration,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger
    ) async throws -> SMTPServer {
        var bound: [BoundListener] = []
        let timeout = configuration.limits.commandTimeout
        do {
            for listener in configuration.listeners {
                let channel = try await ServerBootstrap(group: eventLoopGroup)
                    .serverChannelOption(.backlog, value: 256)
                    .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                    .childChannelOption(.allowRemoteHalfClosure, value: true)
                    .bind(host: listener.host, port: listener.port) { channel in
                        channel.eventLoop.makeCompletedFuture {
                            try channel.pipeline.syncOperations.addHandler(
                                IdleStateHandler(readTimeout: TimeAmount(timeout)))
                            try channel.pipeline.syncOperations.addHandler(
                                CommandTimeoutHandler())
                            return try Connection(wrappingChannelSynchronously: channel)
                        }
                    }
                bound.append(BoundListener(listener: listener, channel: channel))
            }
        } catch {
            for listener in bound {
                try? await listener.channel.channel.close()
            }
            throw error
        }
        return SMTPServer(configuration: configuration, listeners: bound, logger: logger)
    }

    /// Accepts and serves connections on every listener until the task is cancelled; then closes
    /// the listeners and every open connection, and returns when all sessions have ended.
    ///
    /// The accept loops run in a task of their own that cancellation does not reach: cancelling
    /// closes the listening sockets instead, so that every connection already accepted is still
    /// handed to a session (which sees its connection closed) rather than dropped.
    public func run() async throws {
        let registry = ConnectionRegistry()
        let acceptor = Task {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for bound in listeners {
                    group.addTask {
                        try await self.serve(bound, registry: registry)
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

    private func serve(_ bound: BoundListener, registry: ConnectionRegistry) async throws {
        let mode = bound.listener.mode
        try await bound.channel.executeThenClose { connections in
            try await withThrowingDiscardingTaskGroup { group in
                for try await connection in connections {
                    group.addTask {
                        var logger = self.logger
                        logger[metadataKey: "listener"] = "\(mode)"
                        if let peer = connection.channel.remoteAddress {
                            logger[metadataKey: "client"] = "\(peer)"
                        }
                        let token = registry.add(connection.channel)
                        defer { registry.remove(token) }
                        let session = SMTPServerSession(configuration: configuration, logger: logger)
                        await session.run(on: connection)
                    }
                }
            }
        }
    }
}
