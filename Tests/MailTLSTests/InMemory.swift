import MailTLS
import NIOCore
import NIOEmbedded

/// Two embedded channels joined in memory: what one writes, the other reads (swift-nio-ssl's
/// interactInMemory pattern).
struct InMemoryPair {
    let client: EmbeddedChannel
    let server: EmbeddedChannel
    let clientHandshake: EventLoopPromise<TLSSessionFacts>
    let serverHandshake: EventLoopPromise<TLSSessionFacts>

    /// A client and a server channel with TLS handlers, connected (the handshake starts).
    init(client clientHandler: (EventLoopPromise<TLSSessionFacts>) throws -> TLSHandler,
         server serverHandler: (EventLoopPromise<TLSSessionFacts>) throws -> TLSHandler) throws {
        client = EmbeddedChannel()
        server = EmbeddedChannel()
        clientHandshake = client.eventLoop.makePromise()
        serverHandshake = server.eventLoop.makePromise()
        try server.pipeline.syncOperations.addHandler(serverHandler(serverHandshake))
        try client.pipeline.syncOperations.addHandler(clientHandler(clientHandshake))
        try server.connect(to: SocketAddress(ipAddress: "192.0.2.1", port: 25)).wait()
        try client.connect(to: SocketAddress(ipAddress: "192.0.2.2", port: 25)).wait()
    }

    /// Moves bytes both ways until neither side has anything more to send. Errors a side fired
    /// are collected, not thrown.
    @discardableResult
    func interact() -> [any Error] {
        var errors: [any Error] = []
        var moved = true
        while moved {
            moved = false
            for (from, to) in [(client, server), (server, client)] {
                while let data = try? from.readOutbound(as: ByteBuffer.self) {
                    guard data.readableBytes > 0, to.isActive else { continue }
                    moved = true
                    do {
                        try to.writeInbound(data)
                    } catch {
                        errors.append(error)
                    }
                }
            }
        }
        return errors
    }

    /// Everything `channel` passed on to the application, as text.
    static func received(_ channel: EmbeddedChannel) throws -> String {
        var text = ""
        while var buffer = try channel.readInbound(as: ByteBuffer.self) {
            text += buffer.readString(length: buffer.readableBytes) ?? ""
        }
        return text
    }

    /// The handshake's outcome on one side, once it is known.
    static func outcome(_ promise: EventLoopPromise<TLSSessionFacts>) -> Result<TLSSessionFacts, any Error>? {
        var result: Result<TLSSessionFacts, any Error>?
        promise.futureResult.assumeIsolated().whenComplete { result = $0 }
        return result
    }

    /// Whether `future` has completed (on an embedded event loop, callbacks run at once).
    static func isDone<Value>(_ future: EventLoopFuture<Value>) -> Bool {
        var done = false
        future.assumeIsolated().whenComplete { _ in done = true }
        return done
    }

    /// Whether `future` has failed (on an embedded event loop, callbacks run at once).
    static func hasFailed<Value>(_ future: EventLoopFuture<Value>) -> Bool {
        var failed = false
        future.assumeIsolated().whenFailure { _ in failed = true }
        return failed
    }

    func finish() {
        _ = try? client.finish(acceptAlreadyClosed: true)
        _ = try? server.finish(acceptAlreadyClosed: true)
    }
}
