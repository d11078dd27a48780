import Foundation
import MailTLS
import NIOCore
import NIOEmbedded
import Testing
import TestSupport

/// Two testing channels whose outbound bytes are carried to each other by two tasks.
struct AsyncLink {
    let client: NIOAsyncTestingChannel
    let server: NIOAsyncTestingChannel
    /// Every non-empty buffer the client sent, in order, as the server received it.
    let clientBytes: ByteLog
    private let carriers: [Task<Void, Never>]

    init() async throws {
        client = NIOAsyncTestingChannel()
        server = NIOAsyncTestingChannel()
        try await server.connect(to: SocketAddress(ipAddress: "192.0.2.1", port: 25))
        try await client.connect(to: SocketAddress(ipAddress: "192.0.2.2", port: 25))
        let log = ByteLog()
        clientBytes = log
        carriers = [
            Self.carry(from: client, to: server, log: log),
            Self.carry(from: server, to: client, log: nil),
        ]
    }

    private static func carry(from: NIOAsyncTestingChannel, to: NIOAsyncTestingChannel, log: ByteLog?) -> Task<Void, Never> {
        Task {
            while true {
                // Ends when `from` closes.
                guard let data = try? await from.waitForOutboundWrite(as: ByteBuffer.self) else { return }
                // Empty writes (ordering placeholders) carry nothing; a socket never delivers them.
                guard data.readableBytes > 0 else { continue }
                log?.append(data)
                // An error the receiving pipeline caught is the test's to inspect, not the carrier's.
                _ = try? await to.writeInbound(data)
            }
        }
    }

    static func wrap(_ channel: NIOAsyncTestingChannel) async throws -> NIOAsyncChannel<ByteBuffer, ByteBuffer> {
        try await channel.testingEventLoop.executeInContext {
            try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
        }
    }

    func close() async {
        _ = try? await client.close()
        _ = try? await server.close()
        for carrier in carriers { await carrier.value }
    }
}

/// The bytes that went one way, collected across tasks.
final class ByteLog: @unchecked Sendable {
    private var chunks: [[UInt8]] = []
    private let lock = NSLock()

    func append(_ buffer: ByteBuffer) {
        lock.withLock { chunks.append(Array(buffer.readableBytesView)) }
    }

    var all: [[UInt8]] { lock.withLock { chunks } }
}

extension MailTLSSuite {
    @Suite("STARTTLS upgrades of live async channels, in memory")
    struct STARTTLSTests {
        @Test("a running plaintext exchange is upgraded, and TLS carries the rest")
        func upgrade() async throws {
            let pki = try await TestPKI.sharedOffThread()
            let serverContext = try pki.serverContext()
            let clientContext = try pki.clientContext()
            let link = try await AsyncLink()
            let serverConnection = try await AsyncLink.wrap(link.server)
            let clientConnection = try await AsyncLink.wrap(link.client)

            async let server = MiniSMTP.serve(serverConnection, context: serverContext)
            let client = try await MiniSMTP.runClient(
                clientConnection, context: clientContext, serverName: "mx.example.test",
                verification: .certificateAuthorityAndHostName(["mx.example.test"]), commands: ["MAIL FROM:<a@example.test>"])
            let transcript = try await server
            await link.close()

            #expect(transcript.commands == [
                "plain:EHLO client.example.test", "plain:STARTTLS",
                "tls:EHLO client.example.test", "tls:MAIL FROM:<a@example.test>", "tls:QUIT",
            ])
            #expect(transcript.upgradeError == nil)
            #expect(transcript.facts?.protocolVersion == .tls1_3)
            #expect(transcript.facts?.serverName == "mx.example.test")
            #expect(client.facts.verification == .ok)
            #expect(client.facts.peerCertificate?.subject == "/O=SwiftMTA Tests/CN=mx.example.test")
            // After TLS the server no longer offers STARTTLS (RFC 3207 §4.2).
            #expect(client.replies.contains("250-PIPELINING") && !client.replies.contains("250-STARTTLS"))
            #expect(client.replies.last == "221 2.0.0 Bye")

            // On the wire: EHLO and STARTTLS in plaintext, then a ClientHello, never plaintext again.
            let wire = link.clientBytes.all
            #expect(wire.count >= 3)
            #expect(String(decoding: wire[0], as: UTF8.self) == "EHLO client.example.test\r\n")
            #expect(String(decoding: wire[1], as: UTF8.self) == "STARTTLS\r\n")
            #expect(wire[2].first == 0x16, "a handshake record (RFC 8446 §5.1)")
            let afterTLS = wire.dropFirst(2).flatMap { $0 }
            #expect(!String(decoding: afterTLS, as: UTF8.self).contains("MAIL FROM"))
        }

        @Test("plaintext queued after STARTTLS, unread by the session, is refused")
        func queuedPlaintextRefused() async throws {
            let pki = try await TestPKI.sharedOffThread()
            let serverContext = try pki.serverContext()
            let channel = NIOAsyncTestingChannel()
            try await channel.connect(to: SocketAddress(ipAddress: "192.0.2.7", port: 25))
            let connection = try await AsyncLink.wrap(channel)
            // Three separate reads before the session looks at any: the injected command sits in the
            // async channel's buffer, not in the session's framer (CVE-2011-0411).
            try await channel.writeInbound(ByteBuffer(string: "EHLO attacker.example\r\n"))
            try await channel.writeInbound(ByteBuffer(string: "STARTTLS\r\n"))
            try await channel.writeInbound(ByteBuffer(string: "MAIL FROM:<injected@example.test>\r\n"))
            let transcript = try await MiniSMTP.serve(connection, context: serverContext)

            #expect(transcript.upgradeError?.kind == .unreadPlaintext)
            #expect(transcript.upgradeError?.message.contains("35 octets") == true)
            #expect(transcript.upgradeError?.message.contains("192.0.2.7:25") == true)
            #expect(transcript.facts == nil)
            #expect(transcript.commands == ["plain:EHLO attacker.example", "plain:STARTTLS"], "the injected command is never read")
            var replies = ""
            while var buffer = try await channel.readOutbound(as: ByteBuffer.self) {
                replies += buffer.readString(length: buffer.readableBytes) ?? ""
            }
            #expect(!replies.contains("220 2.0.0 Ready"), "no go-ahead is sent")
            #expect(replies.hasSuffix("554 5.5.1 Error: plaintext after STARTTLS\r\n"))
            #expect(!replies.contains("\u{16}\u{03}"), "no TLS record is sent")
        }

        @Test("plaintext that arrives during the upgrade, before the reply, is refused")
        func latePlaintextRefused() async throws {
            let pki = try await TestPKI.sharedOffThread()
            let serverContext = try pki.serverContext()
            let channel = NIOAsyncTestingChannel()
            try await channel.connect(to: SocketAddress(ipAddress: "192.0.2.7", port: 25))
            let connection = try await AsyncLink.wrap(channel)
            try await channel.writeInbound(ByteBuffer(string: "STARTTLS\r\n"))
            let error = try await connection.executeThenClose { inbound, _ in
                var iterator = inbound.makeAsyncIterator()
                let command = try #require(try await iterator.next())
                #expect(String(buffer: command) == "STARTTLS\r\n")
                // The iterator lets bytes arrive at the moment the upgrade has checked the queue:
                // they reach the channel after the marker, before the reply.
                var injecting = InjectingIterator(base: iterator, channel: channel, injection: "RCPT TO:<late@example.test>\r\n")
                return await #expect(throws: TLSError.self) {
                    try await STARTTLS.acceptUpgrade(
                        on: channel, inbound: &injecting,
                        reply: ByteBuffer(string: "220 2.0.0 Ready to start TLS\r\n"), context: serverContext)
                }
            }
            #expect(error?.kind == .unreadPlaintext)
            #expect(error?.message.contains("29 octets") == true)
            #expect(try await channel.readOutbound(as: ByteBuffer.self) == nil, "no reply and no TLS record")
        }

        @Test("a client refuses to start TLS when the server sent more after its 220")
        func clientRefusesInjectedResponse() async throws {
            let pki = try await TestPKI.sharedOffThread()
            let clientContext = try pki.clientContext()
            let channel = NIOAsyncTestingChannel()
            try await channel.connect(to: SocketAddress(ipAddress: "192.0.2.25", port: 25))
            let connection = try await AsyncLink.wrap(channel)
            try await channel.writeInbound(ByteBuffer(string: "220 2.0.0 Ready to start TLS\r\n"))
            try await channel.writeInbound(ByteBuffer(string: "250-injected.example\r\n"))
            let error = try await connection.executeThenClose { inbound, _ in
                var iterator = inbound.makeAsyncIterator()
                _ = try await iterator.next()
                return await #expect(throws: TLSError.self) {
                    try await STARTTLS.initiateUpgrade(
                        on: channel, inbound: &iterator, context: clientContext, serverName: "mx.example.test", verification: .none)
                }
            }
            #expect(error?.kind == .unreadPlaintext)
            #expect(try await channel.readOutbound(as: ByteBuffer.self) == nil, "no ClientHello is sent")
        }

        @Test("a failed verification fails the client's upgrade and the server's handshake")
        func verificationFailureDuringUpgrade() async throws {
            let pki = try await TestPKI.sharedOffThread()
            let serverContext = try pki.serverContext()
            let clientContext = try pki.clientContext()
            let link = try await AsyncLink()
            let serverConnection = try await AsyncLink.wrap(link.server)
            let clientConnection = try await AsyncLink.wrap(link.client)
            async let server = MiniSMTP.serve(serverConnection, context: serverContext)
            let clientError = await #expect(throws: TLSError.self) {
                try await MiniSMTP.runClient(
                    clientConnection, context: clientContext, serverName: "mx.example.test",
                    verification: .certificateAuthorityAndHostName(["smtp.elsewhere.test"]))
            }
            let transcript = try await server
            await link.close()
            #expect(clientError?.kind == .verificationFailed)
            #expect(clientError?.message.contains("hostname mismatch") == true)
            #expect(transcript.upgradeError?.kind == .handshakeFailed)
            #expect(transcript.facts == nil)
        }

        @Test("STARTTLS on a connection that already runs TLS is refused")
        func secondUpgradeRefused() async throws {
            let pki = try await TestPKI.sharedOffThread()
            let serverContext = try pki.serverContext()
            let channel = NIOAsyncTestingChannel()
            try await channel.connect(to: SocketAddress(ipAddress: "192.0.2.7", port: 25))
            try await channel.testingEventLoop.executeInContext {
                try channel.pipeline.syncOperations.addHandler(TLSHandler(serverContext: serverContext))
            }
            let connection = try await AsyncLink.wrap(channel)
            let error = try await connection.executeThenClose { inbound, _ in
                var iterator = inbound.makeAsyncIterator()
                return await #expect(throws: TLSError.self) {
                    try await STARTTLS.acceptUpgrade(
                        on: channel, inbound: &iterator, reply: ByteBuffer(string: "220 Ready\r\n"), context: serverContext)
                }
            }
            #expect(error?.kind == .invalidState)
        }
    }
}

/// Passes `base`'s elements through; when the upgrade's marker (an empty buffer) comes by, first
/// writes `injection` into the channel, as a peer that does not wait for the reply would.
struct InjectingIterator: AsyncIteratorProtocol {
    var base: NIOAsyncChannelInboundStream<ByteBuffer>.AsyncIterator
    let channel: NIOAsyncTestingChannel
    let injection: String

    mutating func next() async throws -> ByteBuffer? {
        let element = try await base.next()
        if let element, element.readableBytes == 0 {
            try await channel.writeInbound(ByteBuffer(string: injection))
        }
        return element
    }
}
