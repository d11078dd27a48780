public import NIOCore

/// Upgrades a running plaintext connection to TLS after the STARTTLS command (RFC 3207), for
/// sessions written as async code over `NIOAsyncChannel<ByteBuffer, ByteBuffer>`.
///
/// The ``TLSHandler`` goes in front of the live pipeline (nearest the network), so the session
/// keeps its `NIOAsyncChannel` and keeps reading and writing plaintext `ByteBuffer`s; it awaits
/// the handshake and gets the ``TLSSessionFacts``.
///
/// ```swift
/// // Server, after parsing "STARTTLS" with nothing left in its line framer:
/// var reply = channel.allocator.buffer(string: "220 2.0.0 Ready to start TLS\r\n")
/// let facts = try await STARTTLS.acceptUpgrade(on: channel, inbound: &iterator, reply: reply, context: tls)
/// ```
///
/// ## What the caller must do
/// - Read the channel's inbound stream through one iterator and pass it as `inbound`; the
///   upgrade reads from it while it runs, and the caller goes on with it afterwards.
/// - Have consumed, up to and including the STARTTLS command (server) or the `220` reply
///   (client), everything it took from that iterator: its own framer holds no unread plaintext.
///   Bytes left over there are the SMTP layer's to refuse (RFC 3207 §5, Postfix's "improper
///   command pipelining after STARTTLS").
/// - Have written, through the async channel's writer, every earlier reply before calling
///   (`write` returns once the reply is handed to the event loop, which is enough).
/// - Keep between the network and the async channel only handlers that pass `ByteBuffer`s
///   through unchanged (an idle-state handler, a timeout handler): the marker described below is
///   an empty `ByteBuffer` and must reach the iterator.
///
/// ## What the upgrade guarantees
/// - **No plaintext is read as TLS, and none is read as if it came after TLS.** Plaintext the
///   channel had already delivered (queued in the async channel, unread by the caller) or that
///   arrives before the `220` reply is written is detected, and the upgrade throws
///   ``TLSError/Kind-swift.struct/unreadPlaintext`` (the STARTTLS command injection of
///   CVE-2011-0411). Then no reply has been sent, no TLS handler added, the offending bytes are
///   consumed and dropped, and the connection is plaintext as before: reply with an error and
///   close it.
/// - **No byte is lost or replayed.** Every byte that arrives after the reply is written goes
///   through TLS; the reply itself is written as plaintext ahead of the handler, after every
///   earlier write.
/// - The upgrade returns once the handshake has succeeded. When it fails, the ``TLSError``
///   (``TLSError/Kind-swift.struct/handshakeFailed``, ``TLSError/Kind-swift.struct/verificationFailed``,
///   ``TLSError/Kind-swift.struct/handshakeTimedOut``, ``TLSError/Kind-swift.struct/connectionClosed``)
///   is thrown and the channel is being closed; the iterator then ends with that error.
///
/// How it works: an internal gate handler is put at the front of the pipeline and sends an empty
/// buffer (the marker) down the pipeline; the upgrade reads the iterator up to the marker, so any
/// non-empty buffer before it is unread plaintext. Meanwhile the gate holds back what arrives.
/// Then, in one event-loop step, it checks that the gate holds nothing, writes the reply, puts
/// the ``TLSHandler`` in front and removes the gate.
public enum STARTTLS {
    /// The server side: sends `reply` (`220 2.0.0 Ready to start TLS`) and accepts the client's
    /// handshake (RFC 3207 §4).
    ///
    /// - Throws: ``TLSError`` as described in the type's documentation, or the iterator's error.
    public static func acceptUpgrade<Inbound: AsyncIteratorProtocol>(
        on channel: any Channel,
        inbound: inout Inbound,
        reply: ByteBuffer,
        context: TLSServerContext
    ) async throws -> TLSSessionFacts where Inbound.Element == ByteBuffer {
        try await upgrade(on: channel, inbound: &inbound, reply: reply) { promise in
            try TLSHandler(serverContext: context, handshakePromise: promise)
        }
    }

    /// The client side: after the server's `220` reply to STARTTLS, starts the handshake
    /// (RFC 3207 §4) with `serverName` as SNI and verifies the server by `verification`.
    ///
    /// - Throws: ``TLSError`` as described in the type's documentation (a server that sent
    ///   anything after its `220` is refused the same way), or the iterator's error.
    public static func initiateUpgrade<Inbound: AsyncIteratorProtocol>(
        on channel: any Channel,
        inbound: inout Inbound,
        context: TLSClientContext,
        serverName: String?,
        verification: TLSPeerVerification
    ) async throws -> TLSSessionFacts where Inbound.Element == ByteBuffer {
        try await upgrade(on: channel, inbound: &inbound, reply: nil) { promise in
            try TLSHandler(clientContext: context, serverName: serverName, verification: verification, handshakePromise: promise)
        }
    }

    private static func upgrade<Inbound: AsyncIteratorProtocol>(
        on channel: any Channel,
        inbound: inout Inbound,
        reply: ByteBuffer?,
        makeHandler: @escaping @Sendable (EventLoopPromise<TLSSessionFacts>) throws -> TLSHandler
    ) async throws -> TLSSessionFacts where Inbound.Element == ByteBuffer {
        let eventLoop = channel.eventLoop
        let peer = TLSHandler.describe(channel.remoteAddress)

        // 1. The gate goes in front and sends the marker behind everything already delivered.
        let gate = try await eventLoop.submit { () -> NIOLoopBound<TLSUpgradeGate> in
            guard channel.isActive else {
                throw TLSError(.connectionClosed, "connection with \(peer) closed before STARTTLS")
            }
            if (try? channel.pipeline.syncOperations.handler(type: TLSHandler.self)) != nil {
                throw TLSError(.invalidState, "STARTTLS on the connection with \(peer), which already runs TLS")
            }
            let gate = TLSUpgradeGate()
            try channel.pipeline.syncOperations.addHandler(gate, position: .first)
            gate.sendMarker()
            return NIOLoopBound(gate, eventLoop: eventLoop)
        }.get()

        // 2. Everything before the marker was delivered and not consumed by the caller.
        var unreadOctets = 0
        do {
            while true {
                guard let chunk = try await inbound.next() else {
                    throw TLSError(.connectionClosed, "connection with \(peer) closed before TLS began")
                }
                if chunk.readableBytes == 0 { break }
                unreadOctets += chunk.readableBytes
            }
        } catch {
            eventLoop.execute { gate.value.remove() }
            throw error
        }

        // 3. In one event-loop step: check, reply, add TLS in front, remove the gate.
        let unread = unreadOctets
        let handshake = try await eventLoop.submit { () -> EventLoopFuture<TLSSessionFacts> in
            let gate = gate.value
            defer { gate.remove() }
            let early = unread + gate.heldOctets
            guard early == 0 else {
                throw TLSError(
                    .unreadPlaintext,
                    "\(early) octets of plaintext from \(peer) followed STARTTLS before TLS began; refusing to start TLS")
            }
            guard channel.isActive, !gate.isClosed else {
                throw TLSError(.connectionClosed, "connection with \(peer) closed before TLS began")
            }
            let promise = eventLoop.makePromise(of: TLSSessionFacts.self)
            let handler: TLSHandler
            do {
                handler = try makeHandler(promise)
            } catch {
                promise.fail(error)
                throw error
            }
            if let reply { gate.writeToNetwork(reply) }
            try channel.pipeline.syncOperations.addHandler(handler, position: .first)
            return promise.futureResult
        }.get()
        return try await handshake.get()
    }
}
