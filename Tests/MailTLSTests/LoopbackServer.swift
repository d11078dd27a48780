import Foundation
import MailTLS
import NIOCore
import NIOPosix

/// A server on 127.0.0.1 that runs `session` for every connection, for tests against real peers.
enum LoopbackServer {
    typealias Connection = NIOAsyncChannel<ByteBuffer, ByteBuffer>

    /// Binds a free port, runs `body` with it, then stops accepting and returns every session's
    /// result once all have ended. With `implicitTLS`, each connection starts with a server
    /// ``TLSHandler`` and the session gets its handshake future.
    static func run<Output: Sendable>(
        implicitTLS: TLSServerContext? = nil,
        session: @escaping @Sendable (Connection, EventLoopFuture<TLSSessionFacts>?) async throws -> Output,
        body: (Int) async throws -> Void
    ) async throws -> [Result<Output, any Error>] {
        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .bind(host: "127.0.0.1", port: 0) { channel in
                channel.eventLoop.makeCompletedFuture {
                    var handshake: EventLoopFuture<TLSSessionFacts>?
                    if let implicitTLS {
                        let promise = channel.eventLoop.makePromise(of: TLSSessionFacts.self)
                        try channel.pipeline.syncOperations.addHandler(
                            TLSHandler(serverContext: implicitTLS, handshakePromise: promise))
                        handshake = promise.futureResult
                    }
                    return (try Connection(wrappingChannelSynchronously: channel), handshake)
                }
            }
        let port = server.channel.localAddress?.port ?? 0
        let results = ResultList<Output>()
        let acceptor = Task {
            try await server.executeThenClose { connections in
                try await withThrowingDiscardingTaskGroup { group in
                    for try await (connection, handshake) in connections {
                        group.addTask {
                            do {
                                results.append(.success(try await session(connection, handshake)))
                            } catch {
                                results.append(.failure(error))
                            }
                        }
                    }
                }
            }
        }
        do {
            try await body(port)
        } catch {
            try? await server.channel.close()
            _ = await acceptor.result
            throw error
        }
        try? await server.channel.close()
        _ = await acceptor.result
        return results.all
    }
}

final class ResultList<Output: Sendable>: @unchecked Sendable {
    private var results: [Result<Output, any Error>] = []
    private let lock = NSLock()

    func append(_ result: Result<Output, any Error>) {
        lock.withLock { results.append(result) }
    }

    var all: [Result<Output, any Error>] { lock.withLock { results } }
}

/// A client connection made with our ``TLSHandler`` (implicit TLS).
enum LoopbackClient {
    static func connect(
        port: Int, context: TLSClientContext, serverName: String?, verification: TLSPeerVerification
    ) async throws -> (LoopbackServer.Connection, EventLoopFuture<TLSSessionFacts>) {
        try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connect(host: "127.0.0.1", port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    let promise = channel.eventLoop.makePromise(of: TLSSessionFacts.self)
                    try channel.pipeline.syncOperations.addHandler(TLSHandler(
                        clientContext: context, serverName: serverName, verification: verification, handshakePromise: promise))
                    return (try LoopbackServer.Connection(wrappingChannelSynchronously: channel), promise.futureResult)
                }
            }
    }
}
