import MailTLS
import NIOCore
import NIOPosix
import SMTPProtocol
import Synchronization

/// One TCP connection of `swiftmta check server` to the server it probes: raw writes (so that a
/// probe can send what no well-behaved client would), replies read with SMTPProtocol's reply
/// parser, each read bounded by the probe's timeout, and STARTTLS through MailTLS.
struct ProbeConnection {
    /// Why a read or write did not give a reply.
    enum Failure: Error, CustomStringConvertible {
        /// The server closed the connection.
        case closed
        /// No complete reply within the timeout.
        case timedOut(Duration)
        /// What the server sent is not an SMTP reply.
        case malformed(String)
        /// The connection failed.
        case failed(String)

        var description: String {
            switch self {
            case .closed: "the server closed the connection"
            case .timedOut(let duration): "no reply within \(ServerProber.milliseconds(duration))"
            case .malformed(let reason): "not an SMTP reply: \(reason)"
            case .failed(let reason): reason
            }
        }
    }

    typealias Channel = NIOAsyncChannel<ByteBuffer, ByteBuffer>

    let channel: any NIOCore.Channel
    var inbound: NIOAsyncChannelInboundStream<ByteBuffer>.AsyncIterator
    let outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>
    let timeout: Duration
    private var parser = SMTPReplyParser()
    private var ended = false
    /// The facts of the TLS handshake, once STARTTLS succeeded.
    private(set) var tls: TLSSessionFacts?

    init(channel: any NIOCore.Channel, inbound: NIOAsyncChannelInboundStream<ByteBuffer>.AsyncIterator,
         outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>, timeout: Duration) {
        self.channel = channel
        self.inbound = inbound
        self.outbound = outbound
        self.timeout = timeout
    }

    /// Connects to `address` (from `source` when given) and runs `body` with the connection;
    /// closes it afterwards.
    static func with<Result: Sendable>(
        _ address: SocketAddress, from source: SocketAddress?, timeout: Duration,
        _ body: (inout ProbeConnection) async throws -> Result
    ) async throws -> Result {
        var bootstrap = ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connectTimeout(TimeAmount(timeout))
            .channelOption(.allowRemoteHalfClosure, value: false)
        if let source { bootstrap = bootstrap.bind(to: source) }
        let channel: Channel
        do {
            channel = try await bootstrap.connect(to: address) { channel in
                channel.eventLoop.makeCompletedFuture { try Channel(wrappingChannelSynchronously: channel) }
            }
        } catch {
            throw Failure.failed("cannot connect to \(Self.describe(address))\(source.map { " from \($0.ipAddress ?? "")" } ?? ""): \(error)")
        }
        return try await channel.executeThenClose { inbound, outbound in
            var connection = ProbeConnection(channel: channel.channel, inbound: inbound.makeAsyncIterator(), outbound: outbound, timeout: timeout)
            return try await body(&connection)
        }
    }

    static func describe(_ address: SocketAddress) -> String {
        let host = address.ipAddress ?? "\(address)"
        let port = address.port ?? 0
        return host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
    }

    /// The client's address of the connection.
    var localAddress: String? { channel.localAddress?.ipAddress }

    /// Octets received that are not part of a reply yet.
    var bufferedOctets: Int { parser.bufferedByteCount }

    /// Writes bytes as they are.
    mutating func send(_ bytes: [UInt8]) async throws(Failure) {
        do {
            try await outbound.write(ByteBuffer(bytes: bytes))
        } catch {
            throw .closed
        }
    }

    /// Writes a command line (CRLF is added).
    mutating func send(_ line: String) async throws(Failure) {
        try await send(Array((line + "\r\n").utf8))
    }

    /// Sends `line` and reads its reply.
    mutating func command(_ line: String) async throws(Failure) -> SMTPReply {
        try await send(line)
        return try await reply()
    }

    /// The next reply, waiting at most the timeout.
    mutating func reply(within limit: Duration? = nil) async throws(Failure) -> SMTPReply {
        let wait = limit ?? timeout
        let expired = Atomic(false)
        let channel = channel
        let timer = channel.eventLoop.scheduleTask(in: TimeAmount(wait)) {
            expired.store(true, ordering: .relaxed)
            channel.close(promise: nil)
        }
        defer { timer.cancel() }
        while true {
            do {
                if let reply = try parser.next() { return reply }
            } catch {
                throw .malformed(error.message)
            }
            if ended { throw .closed }
            let received: ByteBuffer?
            do {
                received = try await inbound.next()
            } catch {
                if expired.load(ordering: .relaxed) { throw .timedOut(wait) }
                ended = true
                throw .closed
            }
            guard let bytes = received else {
                ended = true
                if expired.load(ordering: .relaxed) { throw .timedOut(wait) }
                // What was read may still end in a reply.
                if let reply = try? parser.next() { return reply }
                throw .closed
            }
            parser.append(bytes)
        }
    }

    /// STARTTLS has been answered with 220: runs the TLS handshake (RFC 3207 §4). Bytes the
    /// server sent after its 220, before TLS, make MailTLS refuse the upgrade.
    mutating func startTLS(context: TLSClientContext, serverName: String?, verification: TLSPeerVerification) async throws -> TLSSessionFacts {
        let facts = try await STARTTLS.initiateUpgrade(
            on: channel, inbound: &inbound, context: context, serverName: serverName, verification: verification)
        tls = facts
        return facts
    }

    /// QUIT, without waiting long for its reply.
    mutating func quit() async {
        try? await send("QUIT")
        _ = try? await reply(within: .seconds(2))
    }
}
