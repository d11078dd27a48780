public import NIOCore

/// TLS for one connection as a SwiftNIO channel handler: ciphertext on the network side,
/// plaintext `ByteBuffer`s on the application side, in either role.
///
/// Put it nearest the network, in front of every handler that reads or writes plaintext: at
/// channel set-up for implicit TLS (RFC 8314 §3.3, port 465), or — through ``STARTTLS`` — in
/// front of a live plaintext pipeline after `STARTTLS` (RFC 3207).
///
/// ```swift
/// let promise = channel.eventLoop.makePromise(of: TLSSessionFacts.self)
/// try channel.pipeline.syncOperations.addHandler(
///     try TLSHandler(serverContext: context, handshakePromise: promise), position: .first)
/// let facts = try await promise.futureResult.get()   // version, cipher, verify, peer certificate
/// ```
///
/// What it does:
/// - **Handshake** as soon as the channel is active (the client sends its ClientHello, RFC 8446
///   §4.1.2); writes made before it finishes are held and sent once it has. The handshake promise
///   succeeds with the ``TLSSessionFacts`` or fails with a ``TLSError``, which is also fired
///   down the pipeline before the channel is closed. A handshake that takes longer than the
///   context's ``TLSConfiguration/handshakeTimeout`` fails with
///   ``TLSError/Kind-swift.struct/handshakeTimedOut``.
/// - **Reads** decrypt what arrives and pass it on as it comes; reads are requested from the
///   network only when the application asks for them (its backpressure), except when a read
///   produced no plaintext yet (a partial record), when one more is needed to make progress.
/// - **Writes** are encrypted on flush, one ciphertext buffer per flush; their promises complete
///   when that buffer is written. Channel writability reflects the ciphertext waiting for the
///   socket.
/// - **Closing** sends close_notify (RFC 8446 §6.1) and then closes: `close(mode: .all)` closes the
///   connection after it, `close(mode: .output)` half-closes after it. A close_notify from the
///   peer is answered with one and the channel is closed. A connection that ends without
///   close_notify after the handshake fires ``TLSError/Kind-swift.struct/uncleanShutdown``.
/// - **Renegotiation** is refused (`SSL_OP_NO_RENEGOTIATION`): a TLS 1.2 peer asking for it gets a
///   `no_renegotiation` alert. TLS 1.3 has none.
public final class TLSHandler: ChannelInboundHandler, ChannelOutboundHandler, RemovableChannelHandler {
    /// Ciphertext from the network.
    public typealias InboundIn = ByteBuffer
    /// Plaintext for the application.
    public typealias InboundOut = ByteBuffer
    /// Plaintext from the application.
    public typealias OutboundIn = ByteBuffer
    /// Ciphertext for the network.
    public typealias OutboundOut = ByteBuffer

    /// The connection's state; every switch over it lists every case.
    private enum State {
        /// Added to a channel that is not active yet.
        case idle
        case handshaking
        case active
        /// close_notify sent after `close(mode: .output)`; reads continue.
        case outputClosed
        /// close_notify sent (or being sent) before the channel closes.
        case closing
        case closed
    }

    private struct BufferedWrite {
        var data: ByteBuffer
        var promise: EventLoopPromise<Void>?
    }

    private var state: State = .idle
    private let connection: TLSConnection
    private let handshakeTimeout: Duration
    private var handshakePromise: EventLoopPromise<TLSSessionFacts>?
    private var handshakeTimer: Scheduled<Void>?
    private var bufferedWrites: [BufferedWrite] = []
    /// How many of ``bufferedWrites`` a flush has covered.
    private var flushedWrites = 0
    private var plaintext: ByteBuffer?
    private var deliveredSinceReadComplete = false
    private var closePromise: EventLoopPromise<Void>?
    private var storedContext: ChannelHandlerContext?

    /// The facts of the finished handshake; `nil` before it has finished. Read on the channel's
    /// event loop.
    public private(set) var sessionFacts: TLSSessionFacts?

    /// A server-side handler presenting `serverContext`'s certificate.
    ///
    /// - Parameter handshakePromise: completed with the facts when the handshake succeeds, failed
    ///   with a ``TLSError`` when it does not.
    /// - Throws: ``TLSError`` when OpenSSL cannot create the connection (out of memory).
    public init(serverContext: TLSServerContext, handshakePromise: EventLoopPromise<TLSSessionFacts>? = nil) throws {
        connection = try TLSConnection(server: serverContext)
        handshakeTimeout = serverContext.configuration.handshakeTimeout
        self.handshakePromise = handshakePromise
    }

    /// A client-side handler.
    ///
    /// - Parameters:
    ///   - serverName: sent as SNI (RFC 6066 §3) unless it is an address literal.
    ///   - verification: how the server's certificate is verified; see ``TLSPeerVerification``.
    ///   - handshakePromise: completed with the facts when the handshake succeeds, failed with a
    ///     ``TLSError`` when it does not.
    /// - Throws: ``TLSError`` when the policy cannot be applied: host-name verification without a
    ///   name, DANE without a TLSA base domain. (DANE with no usable record is not an error: the
    ///   handshake runs unauthenticated and ``TLSSessionFacts/dane`` says so, RFC 7672 §2.2.)
    public init(
        clientContext: TLSClientContext,
        serverName: String?,
        verification: TLSPeerVerification,
        handshakePromise: EventLoopPromise<TLSSessionFacts>? = nil
    ) throws {
        connection = try TLSConnection(client: clientContext, serverName: serverName, verification: verification)
        handshakeTimeout = clientContext.configuration.handshakeTimeout
        self.handshakePromise = handshakePromise
    }

    // MARK: - Lifecycle

    /// Starts the handshake at once when the channel is already active (a STARTTLS upgrade).
    public func handlerAdded(context: ChannelHandlerContext) {
        storedContext = context
        connection.peer = Self.describe(context.channel.remoteAddress)
        if context.channel.isActive {
            startHandshake(context: context)
        }
    }

    /// Fails a pending handshake and pending writes: the handler is gone.
    public func handlerRemoved(context: ChannelHandlerContext) {
        handshakeTimer?.cancel()
        handshakeTimer = nil
        let error = TLSError(.invalidState, "the TLS handler for \(connection.peer) was removed from the pipeline")
        failHandshake(error)
        failBufferedWrites(error)
        storedContext = nil
    }

    /// Starts the handshake (implicit TLS).
    public func channelActive(context: ChannelHandlerContext) {
        connection.peer = Self.describe(context.channel.remoteAddress)
        context.fireChannelActive()
        startHandshake(context: context)
    }

    /// Fails what is pending; fires ``TLSError/Kind-swift.struct/uncleanShutdown`` when the
    /// connection ended after the handshake without close_notify.
    public func channelInactive(context: ChannelHandlerContext) {
        let previous = state
        state = .closed
        handshakeTimer?.cancel()
        handshakeTimer = nil
        switch previous {
        case .idle, .closing, .closed:
            failBufferedWrites(ChannelError.ioOnClosedChannel)
        case .handshaking:
            let error = TLSError(.connectionClosed, "connection with \(connection.peer) closed during the TLS handshake")
            failHandshake(error)
            failBufferedWrites(error)
            context.fireErrorCaught(error)
        case .active, .outputClosed:
            let error = TLSError(.uncleanShutdown, "connection with \(connection.peer) closed without a TLS close_notify")
            failBufferedWrites(error)
            context.fireErrorCaught(error)
        }
        let closePromise = self.closePromise
        self.closePromise = nil
        closePromise?.succeed(())
        context.fireChannelInactive()
    }

    /// Treats a TCP half-close by the peer as the end of the handshake or of the TLS stream.
    public func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? ChannelEvent, event == .inputClosed {
            // The peer half-closed TCP: nothing more can arrive, so a handshake cannot finish and
            // an open TLS stream was cut short.
            switch state {
            case .idle, .closing, .closed:
                break
            case .handshaking:
                fail(TLSError(.connectionClosed, "\(connection.peer) closed its side during the TLS handshake"), context: context)
                return
            case .active, .outputClosed:
                context.fireErrorCaught(TLSError(.uncleanShutdown, "\(connection.peer) closed its side without a TLS close_notify"))
            }
        }
        context.fireUserInboundEventTriggered(event)
    }

    // MARK: - Handshake

    private func startHandshake(context: ChannelHandlerContext) {
        switch state {
        case .idle:
            break
        case .handshaking, .active, .outputClosed, .closing, .closed:
            return
        }
        state = .handshaking
        if plaintext == nil {
            plaintext = context.channel.allocator.buffer(capacity: 16 * 1024)
        }
        let timeout = handshakeTimeout
        handshakeTimer = context.eventLoop.assumeIsolated().scheduleTask(in: TimeAmount(timeout)) { [self] in
            guard case .handshaking = state, let context = storedContext else { return }
            fail(TLSError(.handshakeTimedOut, "TLS handshake with \(connection.peer) did not finish within \(timeout)"), context: context)
        }
        handshakeStep(context: context)
    }

    private func handshakeStep(context: ChannelHandlerContext) {
        switch connection.handshake() {
        case .incomplete:
            writeOutput(context: context)
        case .complete:
            state = .active
            handshakeTimer?.cancel()
            handshakeTimer = nil
            writeOutput(context: context)
            let facts = connection.facts()
            sessionFacts = facts
            let promise = handshakePromise
            handshakePromise = nil
            promise?.succeed(facts)
            // Application data may have followed the peer's Finished message, and writes may
            // have waited for the handshake.
            decode(context: context)
            writeBuffered(context: context)
        case .failed(let error):
            // The alert OpenSSL queued goes out before the channel closes.
            writeOutput(context: context)
            fail(error, context: context)
        }
    }

    /// Fails the handshake (if pending) and the connection, and closes the channel.
    private func fail(_ error: TLSError, context: ChannelHandlerContext) {
        state = .closed
        handshakeTimer?.cancel()
        handshakeTimer = nil
        failHandshake(error)
        failBufferedWrites(error)
        context.fireErrorCaught(error)
        let promise = closePromise
        closePromise = nil
        context.close(promise: promise)
    }

    private func failHandshake(_ error: any Error) {
        let promise = handshakePromise
        handshakePromise = nil
        promise?.fail(error)
    }

    // MARK: - Reading

    /// Takes ciphertext: advances the handshake or decrypts and passes plaintext on.
    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let ciphertext = unwrapInboundIn(data)
        switch state {
        case .handshaking:
            connection.receive(ciphertext)
            handshakeStep(context: context)
        case .active, .outputClosed:
            connection.receive(ciphertext)
            decode(context: context)
        case .idle, .closing, .closed:
            // Nothing more is read once close_notify went out or the connection failed.
            break
        }
    }

    /// Passes read-complete on after plaintext; asks for more when a read produced none without
    /// auto-read.
    public func channelReadComplete(context: ChannelHandlerContext) {
        if deliveredSinceReadComplete {
            deliveredSinceReadComplete = false
            context.fireChannelReadComplete()
        } else {
            switch state {
            case .handshaking, .active, .outputClosed:
                // The application asked for data and got none yet (a handshake message or a
                // partial record): without auto-read nobody else asks the network for more.
                if let autoRead = try? context.channel.syncOptions?.getOption(ChannelOptions.autoRead), !autoRead {
                    context.read()
                }
            case .idle, .closing, .closed:
                break
            }
        }
    }

    /// Decrypts everything available and passes it on.
    private func decode(context: ChannelHandlerContext) {
        guard var buffer = plaintext else { return }
        plaintext = nil
        var closeNotify = false
        var failure: TLSError?
        readLoop: while true {
            switch connection.read(into: &buffer) {
            case .data:
                continue readLoop
            case .wouldBlock:
                break readLoop
            case .closeNotify:
                closeNotify = true
                break readLoop
            case .failed(let error):
                failure = error
                break readLoop
            }
        }
        if buffer.readableBytes > 0 {
            let delivered = buffer
            buffer.clear()
            plaintext = buffer
            deliveredSinceReadComplete = true
            context.fireChannelRead(wrapInboundOut(delivered))
        } else {
            plaintext = buffer
        }
        // OpenSSL may answer what it read (a TLS 1.3 key update, an alert).
        writeOutput(context: context)
        if let failure {
            fail(failure, context: context)
        } else if closeNotify {
            receivedCloseNotify(context: context)
        }
    }

    /// The peer ended the TLS stream: answer with close_notify and close (RFC 8446 §6.1).
    private func receivedCloseNotify(context: ChannelHandlerContext) {
        switch state {
        case .active, .outputClosed:
            if deliveredSinceReadComplete {
                deliveredSinceReadComplete = false
                context.fireChannelReadComplete()
            }
            sendCloseNotifyAndClose(context: context, promise: nil)
        case .idle, .handshaking, .closing, .closed:
            break
        }
    }

    // MARK: - Writing

    /// Holds plaintext until the next flush (and, before it, the end of the handshake).
    public func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch state {
        case .idle, .handshaking, .active:
            bufferedWrites.append(BufferedWrite(data: unwrapOutboundIn(data), promise: promise))
        case .outputClosed, .closing, .closed:
            promise?.fail(ChannelError.outputClosed)
        }
    }

    /// Encrypts the held writes and writes the ciphertext, once the handshake has finished.
    public func flush(context: ChannelHandlerContext) {
        flushedWrites = bufferedWrites.count
        switch state {
        case .active:
            writeBuffered(context: context)
        case .idle, .handshaking, .outputClosed, .closing, .closed:
            break
        }
    }

    /// Passes the application's read request to the network.
    public func read(context: ChannelHandlerContext) {
        context.read()
    }

    /// Encrypts the flushed writes and writes the ciphertext as one buffer.
    private func writeBuffered(context: ChannelHandlerContext) {
        guard flushedWrites > 0 else { return }
        let writes = bufferedWrites[..<flushedWrites]
        bufferedWrites.removeFirst(flushedWrites)
        flushedWrites = 0
        var promises: [EventLoopPromise<Void>] = []
        for (index, write) in zip(writes.indices, writes) {
            if let error = connection.write(write.data) {
                // Every write of the batch fails: those already encrypted (their ciphertext is
                // never sent), this one, and the ones after it, which are no longer buffered.
                for other in promises { other.fail(error) }
                for later in writes[index...] { later.promise?.fail(error) }
                fail(error, context: context)
                return
            }
            if let promise = write.promise { promises.append(promise) }
        }
        let combined: EventLoopPromise<Void>?
        switch promises.count {
        case 0: combined = nil
        case 1: combined = promises[0]
        default:
            let promise = context.eventLoop.makePromise(of: Void.self)
            promise.futureResult.assumeIsolated().whenComplete { result in
                for each in promises { each.completeWith(result) }
            }
            combined = promise
        }
        writeOutput(context: context, promise: combined)
    }

    /// Writes and flushes what OpenSSL produced; completes `promise` after it (at once, in order,
    /// when there is nothing).
    private func writeOutput(context: ChannelHandlerContext, promise: EventLoopPromise<Void>? = nil) {
        if let output = connection.takeOutput(allocator: context.channel.allocator) {
            context.writeAndFlush(wrapOutboundOut(output), promise: promise)
        } else if let promise {
            context.writeAndFlush(wrapOutboundOut(context.channel.allocator.buffer(capacity: 0)), promise: promise)
        }
    }

    private func failBufferedWrites(_ error: any Error) {
        let writes = bufferedWrites
        bufferedWrites.removeAll()
        flushedWrites = 0
        for write in writes { write.promise?.fail(error) }
    }

    // MARK: - Closing

    /// Sends close_notify before closing the output or the connection (RFC 8446 §6.1).
    public func close(context: ChannelHandlerContext, mode: CloseMode, promise: EventLoopPromise<Void>?) {
        switch mode {
        case .input:
            context.close(mode: .input, promise: promise)
        case .output:
            switch state {
            case .active:
                writeBuffered(context: context)
                failBufferedWrites(ChannelError.outputClosed)
                state = .outputClosed
                _ = connection.shutdown()
                let output = connection.takeOutput(allocator: context.channel.allocator)
                    ?? context.channel.allocator.buffer(capacity: 0)
                context.writeAndFlush(wrapOutboundOut(output)).assumeIsolated().whenComplete { _ in
                    context.close(mode: .output, promise: promise)
                }
            case .idle, .outputClosed, .closed:
                context.close(mode: .output, promise: promise)
            case .handshaking:
                fail(TLSError(.connectionClosed, "connection with \(connection.peer) closed during the TLS handshake"), context: context)
                promise?.succeed(())
            case .closing:
                promise?.succeed(())
            }
        case .all:
            switch state {
            case .active, .outputClosed:
                writeBuffered(context: context)
                sendCloseNotifyAndClose(context: context, promise: promise)
            case .idle:
                state = .closed
                context.close(promise: promise)
            case .handshaking:
                failHandshake(TLSError(.connectionClosed, "connection with \(connection.peer) closed during the TLS handshake"))
                state = .closed
                handshakeTimer?.cancel()
                handshakeTimer = nil
                failBufferedWrites(ChannelError.ioOnClosedChannel)
                context.close(promise: promise)
            case .closing:
                if let promise {
                    if let closePromise {
                        closePromise.futureResult.cascade(to: promise)
                    } else {
                        closePromise = promise
                    }
                }
            case .closed:
                context.close(promise: promise)
            }
        }
    }

    /// Sends close_notify (unless already sent) and closes the channel once it is written; the
    /// peer's close_notify is not awaited (RFC 8446 §6.1 allows this).
    private func sendCloseNotifyAndClose(context: ChannelHandlerContext, promise: EventLoopPromise<Void>?) {
        let alreadySent: Bool
        switch state {
        case .outputClosed: alreadySent = true
        case .idle, .handshaking, .active, .closing, .closed: alreadySent = false
        }
        state = .closing
        failBufferedWrites(ChannelError.ioOnClosedChannel)
        closePromise = promise
        if !alreadySent { _ = connection.shutdown() }
        let output = connection.takeOutput(allocator: context.channel.allocator) ?? context.channel.allocator.buffer(capacity: 0)
        context.writeAndFlush(wrapOutboundOut(output)).assumeIsolated().whenComplete { [self] _ in
            let promise = closePromise
            closePromise = nil
            switch state {
            case .closing:
                state = .closed
                context.close(promise: promise)
            case .idle, .handshaking, .active, .outputClosed, .closed:
                // The channel went away while close_notify was written.
                promise?.succeed(())
            }
        }
    }

    // MARK: - Helpers

    /// `127.0.0.1:25`, `[::1]:25`, or `peer` when the address is unknown.
    static func describe(_ address: SocketAddress?) -> String {
        guard let address else { return "peer" }
        switch address {
        case .v4:
            return "\(address.ipAddress ?? "?"):\(address.port ?? 0)"
        case .v6:
            return "[\(address.ipAddress ?? "?")]:\(address.port ?? 0)"
        case .unixDomainSocket:
            return "unix socket"
        }
    }
}

@available(*, unavailable)
extension TLSHandler: Sendable {}
