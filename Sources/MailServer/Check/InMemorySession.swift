import Logging
import MailTLS
import NIOCore
import NIOEmbedded
import SMTPProtocol
import Synchronization

/// Runs one scripted SMTP session through the server's own session code (``SMTPServerSession``,
/// the same code a TCP connection runs) over an in-memory channel: no socket, no network.
///
/// The server side is a `NIOAsyncTestingChannel` wrapped in the `NIOAsyncChannel` the session
/// reads and writes, with the client's address as its remote address. The client side is this
/// runner: it writes the transcript into the channel one write at a time, each once the session
/// has flushed its replies and waits for input (``SMTPServerSession/awaitingInput``), so that the
/// replies of one write come before the next write, as a careful client sees them. Pipelined
/// groups stay one write.
///
/// TLS is real, in memory: for `--tls` (and smtps listeners) the server's `TLSHandler` is in front
/// from the start, exactly as ``SMTPServer`` puts it for an smtps connection; after a `220` reply
/// to STARTTLS the runner starts a MailTLS client on a second in-memory channel and moves the
/// ciphertext between the two, so the server's STARTTLS code (the discarded plaintext, the reset
/// session) runs as it does on the network.
struct InMemorySession {
    let configuration: ServerConfiguration
    let listener: ServerConfiguration.Listener
    let backend: PolicyBackend
    let recorder: SessionRecorder
    let clientAddress: SocketAddress
    let localAddress: SocketAddress?
    /// TLS from the first byte (smtps, or `--tls`).
    let implicitTLS: Bool
    /// The AUTH command `--auth` sends after each accepted EHLO, and how it is shown.
    let injectedAuthentication: (command: [UInt8], shown: String)?
    /// How long the session may take to answer one write before the run gives up.
    let stepTimeout: Duration
    let logger: Logger

    /// How the run ended.
    enum Ending: Equatable {
        /// The server closed the connection (after QUIT, a 421, an error).
        case closedByServer(unsent: Int)
        /// The transcript ended and the client closed the connection.
        case closedByClient
        /// The session did not answer within ``stepTimeout``.
        case timedOut
        /// The in-memory channel failed (a bug, not a policy decision).
        case failed(String)
    }

    func run(_ transcript: SessionTranscript) async -> Ending {
        let loop = NIOAsyncTestingEventLoop()
        let channel = NIOAsyncTestingChannel(loop: loop)
        let signals = SessionSignals()
        var client = ClientSide(server: channel, hostname: configuration.hostname, serverAddress: localAddress ?? clientAddress, recorder: recorder)
        let ending: Ending
        do {
            ending = try await converse(transcript, channel: channel, signals: signals, client: &client)
        } catch {
            ending = .failed("\(error)")
        }
        await client.close()
        try? await channel.close()
        await signals.waitForEnd(timeout: stepTimeout)
        await client.shutdown()
        await loop.shutdownGracefully()
        return ending
    }

    private func converse(
        _ transcript: SessionTranscript, channel: NIOAsyncTestingChannel, signals: SessionSignals, client: inout ClientSide
    ) async throws -> Ending {
        var handshake: EventLoopFuture<TLSSessionFacts>?
        if implicitTLS {
            guard let context = configuration.tls else { return .failed("TLS without a server certificate") }
            handshake = try await channel.testingEventLoop.executeInContext {
                let promise = channel.eventLoop.makePromise(of: TLSSessionFacts.self)
                try channel.pipeline.syncOperations.addHandler(TLSHandler(serverContext: context, handshakePromise: promise))
                return promise.futureResult
            }
            // Shown when the handshake completes, before the session goes on to its greeting.
            let recorder = recorder
            handshake?.whenSuccess { facts in recorder.append("T: TLS established: \(facts.logFields)") }
        }
        if let localAddress { channel.localAddress = localAddress }
        try await channel.connect(to: clientAddress)
        let connection = try await channel.testingEventLoop.executeInContext {
            try SMTPServerSession.Connection(wrappingChannelSynchronously: channel)
        }
        var session = SMTPServerSession(
            configuration: configuration, listener: listener, backend: backend,
            damping: configuration.authentication.map { AuthenticationDamping(configuration: $0.damping) },
            registry: ConnectionRegistry(), logger: logger)
        session.awaitingInput = { octets in signals.awaiting(octets) }
        let runner = session
        let handshakeFuture = handshake
        Task {
            await runner.run(on: connection, handshake: handshakeFuture)
            signals.end()
        }
        if implicitTLS { try await client.startTLS() }

        var sent = 0
        for (index, write) in transcript.writes.enumerated() {
            switch await waitForServer(signals: signals, octets: sent, client: &client) {
            case .ended: return .closedByServer(unsent: transcript.writes[index...].reduce(0) { $0 + $1.lines.count })
            case .timedOut: return .timedOut
            case .awaiting: break
            }
            if let auth = injectedAuthentication, shouldAuthenticate(before: write) {
                recorder.markAuthenticationSent()
                recorder.append(auth.shown)
                try await client.send(auth.command)
                sent += auth.command.count
                switch await waitForServer(signals: signals, octets: sent, client: &client) {
                case .ended: return .closedByServer(unsent: transcript.writes[index...].reduce(0) { $0 + $1.lines.count })
                case .timedOut: return .timedOut
                case .awaiting: break
                }
            }
            recorder.append(contentsOf: write.lines)
            try await client.send(write.bytes)
            sent += write.bytes.count
        }
        switch await waitForServer(signals: signals, octets: sent, client: &client) {
        case .ended: return .closedByServer(unsent: 0)
        case .timedOut: return .timedOut
        case .awaiting: return .closedByClient
        }
    }

    /// `--auth`: after an accepted EHLO, unless AUTH already went out or succeeded since TLS
    /// began, and not just before the client's STARTTLS (AUTH then belongs after TLS).
    private func shouldAuthenticate(before write: SessionTranscript.Write) -> Bool {
        guard recorder.phase == .greeted else { return false }
        let first = String(decoding: write.bytes.prefix { $0 != 13 && $0 != 10 }, as: UTF8.self)
        return first.uppercased() != "STARTTLS"
    }

    private enum Wait {
        case awaiting
        case ended
        case timedOut
    }

    /// Moves bytes until the session has read `octets` octets and waits for more, or has ended.
    private func waitForServer(signals: SessionSignals, octets: Int, client: inout ClientSide) async -> Wait {
        let deadline = ContinuousClock.now + stepTimeout
        while true {
            let (awaiting, ended) = signals.state
            // The session's writes reached the channel before it signalled (they are handed to the
            // event loop first): one more pump after the signal collects all of them.
            if ended || (awaiting ?? -1) >= octets {
                await client.pump()
                return ended ? .ended : .awaiting
            }
            await client.pump()
            if ContinuousClock.now > deadline { return .timedOut }
            try? await Task.sleep(for: .milliseconds(1))
        }
    }
}

/// What the session told the runner: the octets read when it last waited for input, and whether
/// it has ended.
final class SessionSignals: Sendable {
    private let value = Mutex<(awaiting: Int?, ended: Bool)>((nil, false))

    var state: (awaiting: Int?, ended: Bool) { value.withLock { $0 } }

    func awaiting(_ octets: Int) {
        value.withLock { $0.awaiting = octets }
    }

    func end() {
        value.withLock { $0.ended = true }
    }

    func waitForEnd(timeout: Duration) async {
        let deadline = ContinuousClock.now + timeout
        while !state.ended, ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(1))
        }
    }
}

/// The client's end of the in-memory connection: reads what the server wrote (through a MailTLS
/// client once TLS is up), shows each reply line, and writes the transcript.
struct ClientSide {
    let server: NIOAsyncTestingChannel
    let hostname: String
    let serverAddress: SocketAddress
    let recorder: SessionRecorder

    /// How the client reads and writes.
    private enum Transport {
        /// As bytes on the server's channel.
        case plaintext
        /// Through a MailTLS client on a channel of its own, whose ciphertext the runner moves.
        case tls(NIOAsyncTestingChannel)
        /// The client's TLS failed: nothing more is read.
        case failed(NIOAsyncTestingChannel)
    }

    private var transport = Transport.plaintext
    private var partialLine: [UInt8] = []
    /// Complete replies read so far; the first is the greeting.
    private var replies = 0

    init(server: NIOAsyncTestingChannel, hostname: String, serverAddress: SocketAddress, recorder: SessionRecorder) {
        self.server = server
        self.hostname = hostname
        self.serverAddress = serverAddress
        self.recorder = recorder
    }

    /// Starts the client's TLS handshake (after STARTTLS's 220, or at once for implicit TLS).
    mutating func startTLS() async throws {
        let loop = NIOAsyncTestingEventLoop()
        let channel = NIOAsyncTestingChannel(loop: loop)
        // The check's client verifies nothing (the server's own facts say what it sees), so it
        // loads no CA store.
        let context = try TLSClientContext(configuration: TLSConfiguration())
        let hostname = hostname
        try await channel.testingEventLoop.executeInContext {
            try channel.pipeline.syncOperations.addHandler(
                TLSHandler(clientContext: context, serverName: hostname, verification: .none))
        }
        transport = .tls(channel)
        try await channel.connect(to: serverAddress)
    }

    /// The client's TLS channel, if it has one.
    private var tlsChannel: NIOAsyncTestingChannel? {
        switch transport {
        case .plaintext: nil
        case .tls(let channel), .failed(let channel): channel
        }
    }

    /// Sends client bytes: as they are, or through TLS.
    mutating func send(_ bytes: [UInt8]) async throws {
        let buffer = ByteBuffer(bytes: bytes)
        switch transport {
        case .tls(let tls):
            try await tls.writeOutbound(buffer)
            await pump()
        case .plaintext:
            if server.isActive { try await server.writeInbound(buffer) }
        case .failed:
            break
        }
    }

    /// Moves every byte waiting in either direction until none is left.
    mutating func pump() async {
        while true {
            var moved = false
            while let buffer = try? await server.readOutbound(as: ByteBuffer.self) {
                moved = true
                await fromServer(buffer)
            }
            if let tls = tlsChannel {
                while let buffer = try? await tls.readOutbound(as: ByteBuffer.self) {
                    moved = true
                    guard buffer.readableBytes > 0, server.isActive else { continue }
                    do {
                        try await server.writeInbound(buffer)
                    } catch {
                        // The server's TLS failed the connection; its own log says why.
                    }
                }
            }
            if !moved { return }
        }
    }

    private mutating func fromServer(_ buffer: ByteBuffer) async {
        guard buffer.readableBytes > 0 else { return }
        switch transport {
        case .plaintext:
            await text(Array(buffer.readableBytesView))
        case .failed:
            break
        case .tls(let tls):
            do {
                try await tls.writeInbound(buffer)
            } catch {
                transport = .failed(tls)
                recorder.append("T: the client's TLS failed: \(error)")
            }
            while let plaintext = try? await tls.readInbound(as: ByteBuffer.self) {
                await text(Array(plaintext.readableBytesView))
            }
        }
    }

    /// Shows complete reply lines; after a `220` that is not the greeting (STARTTLS's), what
    /// follows is TLS.
    private mutating func text(_ bytes: [UInt8]) async {
        var rest = bytes[...]
        while let newline = rest.firstIndex(of: 10) {
            partialLine += rest[..<newline]
            rest = rest[rest.index(after: newline)...]
            if partialLine.last == 13 { partialLine.removeLast() }
            let line = String(decoding: partialLine, as: UTF8.self)
            partialLine = []
            recorder.append("S: " + line)
            let isLast = line.count < 4 || line[line.index(line.startIndex, offsetBy: 3)] == " "
            guard isLast else { continue }
            replies += 1
            if replies > 1, line.hasPrefix("220"), case .plaintext = transport {
                do {
                    try await startTLS()
                } catch {
                    recorder.append("T: the client's TLS could not start: \(error)")
                    return
                }
                if !rest.isEmpty { await fromServer(ByteBuffer(bytes: rest)) }
                await pump()
                return
            }
        }
        partialLine += rest
    }

    /// The client closes its end: close_notify through TLS, then the connection.
    mutating func close() async {
        await pump()
        if !partialLine.isEmpty {
            recorder.append("S: " + String(decoding: partialLine, as: UTF8.self) + " (no line end)")
            partialLine = []
        }
        if case .tls(let tls) = transport, tls.isActive {
            try? await tls.close()
            await pump()
        }
    }

    /// Stops the client's event loop.
    func shutdown() async {
        if let tls = tlsChannel {
            try? await tls.close()
            await tls.testingEventLoop.shutdownGracefully()
        }
    }
}
