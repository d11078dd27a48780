import MailTLS
import NIOCore

/// Just enough of an SMTP server and client, written the way SwiftMTA's sessions are (async code
/// over `NIOAsyncChannel<ByteBuffer, ByteBuffer>`), to exercise STARTTLS: EHLO, STARTTLS, QUIT, and
/// `250 OK` to anything else.
enum MiniSMTP {
    /// What a server session saw.
    struct ServerTranscript: Sendable {
        /// Every command line, prefixed `plain:` or `tls:` by how it arrived.
        var commands: [String] = []
        var facts: TLSSessionFacts?
        var upgradeError: TLSError?
    }

    /// CRLF lines out of a byte stream.
    struct LineBuffer {
        var pending: [UInt8] = []

        mutating func append(_ buffer: ByteBuffer) {
            pending += buffer.readableBytesView
        }

        mutating func next() -> String? {
            guard let index = pending.indices.first(where: { $0 > 0 && pending[$0] == 10 && pending[$0 - 1] == 13 }) else {
                return nil
            }
            let line = String(decoding: pending[..<(index - 1)], as: UTF8.self)
            pending.removeSubrange(...index)
            return line
        }
    }

    /// Serves one connection; returns when the client quits, the connection closes, or an upgrade
    /// is refused (after replying 554). With `implicitTLS` (the handshake of a handler added at
    /// set-up), the session waits for it before its greeting.
    static func serve(
        _ connection: NIOAsyncChannel<ByteBuffer, ByteBuffer>,
        context: TLSServerContext,
        implicitTLS: EventLoopFuture<TLSSessionFacts>? = nil,
        hostname: String = "mx.example.test"
    ) async throws -> ServerTranscript {
        var transcript = ServerTranscript()
        let channel = connection.channel
        if let implicitTLS {
            do {
                transcript.facts = try await implicitTLS.get()
            } catch let error as TLSError {
                transcript.upgradeError = error
                try? await channel.close()
                return transcript
            }
        }
        try await connection.executeThenClose { inbound, outbound in
            var iterator = inbound.makeAsyncIterator()
            var lines = LineBuffer()
            func send(_ text: String) async throws {
                try await outbound.write(channel.allocator.buffer(string: text))
            }
            try await send("220 \(hostname) ESMTP MiniSMTP\r\n")
            while true {
                while let line = lines.next() {
                    transcript.commands.append((transcript.facts == nil ? "plain:" : "tls:") + line)
                    switch line.uppercased() {
                    case let verb where verb.hasPrefix("EHLO"):
                        let starttls = transcript.facts == nil ? "250-STARTTLS\r\n" : ""
                        try await send("250-\(hostname)\r\n250-PIPELINING\r\n\(starttls)250 8BITMIME\r\n")
                    case "STARTTLS":
                        // The SMTP layer's own check: nothing may follow STARTTLS in its framer.
                        guard lines.pending.isEmpty, transcript.facts == nil else {
                            try await send("554 5.5.1 Error: command pipelining after STARTTLS\r\n")
                            return
                        }
                        do {
                            transcript.facts = try await STARTTLS.acceptUpgrade(
                                on: channel, inbound: &iterator,
                                reply: channel.allocator.buffer(string: "220 2.0.0 Ready to start TLS\r\n"),
                                context: context)
                        } catch let error as TLSError {
                            transcript.upgradeError = error
                            if error.kind == .unreadPlaintext {
                                try await send("554 5.5.1 Error: plaintext after STARTTLS\r\n")
                            }
                            return
                        }
                    case "QUIT":
                        try await send("221 2.0.0 Bye\r\n")
                        return
                    default:
                        try await send("250 2.0.0 OK\r\n")
                    }
                }
                guard let chunk = try await iterator.next() else { return }
                lines.append(chunk)
            }
        }
        return transcript
    }

    /// A client session: greeting, EHLO, STARTTLS, the handshake, EHLO again, then `commands`,
    /// then QUIT. Returns the facts and every reply line after TLS.
    static func runClient(
        _ connection: NIOAsyncChannel<ByteBuffer, ByteBuffer>,
        context: TLSClientContext,
        serverName: String,
        verification: TLSPeerVerification,
        commands: [String] = []
    ) async throws -> (facts: TLSSessionFacts, replies: [String]) {
        let channel = connection.channel
        return try await connection.executeThenClose { inbound, outbound in
            var iterator = inbound.makeAsyncIterator()
            var lines = LineBuffer()
            func send(_ text: String) async throws {
                try await outbound.write(channel.allocator.buffer(string: text))
            }
            /// One whole reply: its lines, the last without a hyphen after the code.
            func reply() async throws -> [String] {
                var reply: [String] = []
                while true {
                    while let line = lines.next() {
                        reply.append(line)
                        if line.count < 4 || Array(line.utf8)[3] != UInt8(ascii: "-") { return reply }
                    }
                    guard let chunk = try await iterator.next() else {
                        throw TestFailure("connection closed in the middle of a reply: \(reply)")
                    }
                    lines.append(chunk)
                }
            }
            _ = try await reply()
            try await send("EHLO client.example.test\r\n")
            guard try await reply().contains(where: { $0.hasSuffix("STARTTLS") }) else {
                throw TestFailure("the server does not offer STARTTLS")
            }
            try await send("STARTTLS\r\n")
            let ready = try await reply()
            guard ready.first?.hasPrefix("220") == true, lines.pending.isEmpty else {
                throw TestFailure("STARTTLS answered \(ready)")
            }
            let facts = try await STARTTLS.initiateUpgrade(
                on: channel, inbound: &iterator, context: context, serverName: serverName, verification: verification)
            var replies: [String] = []
            for command in ["EHLO client.example.test"] + commands + ["QUIT"] {
                try await send(command + "\r\n")
                replies += try await reply()
            }
            return (facts, replies)
        }
    }
}

struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
