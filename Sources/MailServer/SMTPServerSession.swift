import Logging
import NIOCore
import SMTPProtocol

/// One client connection, from greeting to close.
///
/// This is the foundation's session: greeting, EHLO/HELO, NOOP, RSET and QUIT, with CRLF-strict
/// framing, the command-line limit and the error limit. Mail transactions arrive with the
/// server state machine of SMTPProtocol.
struct SMTPServerSession {
    let configuration: ServerConfiguration
    let logger: Logger

    func run(on connection: NIOAsyncChannel<ByteBuffer, ByteBuffer>) async {
        logger.debug("session opened")
        do {
            try await connection.executeThenClose { inbound, outbound in
                try await converse(inbound: inbound, outbound: outbound, channel: connection.channel)
            }
        } catch {
            logger.debug("session ended by error", metadata: ["error": "\(error)"])
        }
        logger.debug("session closed")
    }

    private func converse(
        inbound: NIOAsyncChannelInboundStream<ByteBuffer>,
        outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>,
        channel: any Channel
    ) async throws {
        let hostname = configuration.hostname
        let limits = configuration.limits.protocolLimits
        var framer = SMTPLineFramer(maximumLineLength: limits.commandLineLength)
        var errors = 0

        func send(_ reply: SMTPReply) async throws {
            var buffer = channel.allocator.buffer(capacity: 128)
            reply.encode(into: &buffer)
            try await outbound.write(buffer)
        }

        try await send(SMTPReply(220, "\(hostname) ESMTP SwiftMTA ready"))
        for try await bytes in inbound {
            framer.append(bytes)
            while let event = framer.next() {
                let reply: SMTPReply
                var close = false
                switch event {
                case .lineTooLong(let octets):
                    logger.info("command line too long", metadata: ["octets": "\(octets)"])
                    reply = SMTPReply(500, .syntaxError, "Line too long")
                case .line(let line):
                    do {
                        switch try SMTPCommand.parse(line) {
                        case .ehlo(let domain):
                            reply = SMTPReply(250, lines: [
                                "\(hostname) Hello \(Self.printable(domain))",
                                "ENHANCEDSTATUSCODES",
                            ])
                        case .helo(let domain):
                            reply = SMTPReply(250, "\(hostname) Hello \(Self.printable(domain))")
                        case .noop:
                            reply = SMTPReply(250, .success, "OK")
                        case .reset:
                            reply = SMTPReply(250, .success, "Reset state")
                        case .quit:
                            reply = SMTPReply(221, .success, "\(hostname) closing connection")
                            close = true
                        case .unrecognized(let verb):
                            logger.info("command not implemented", metadata: ["verb": "\(verb)"])
                            reply = SMTPReply(502, .invalidCommand, "Command not implemented")
                        }
                    } catch {
                        reply = error.reply
                    }
                }
                if reply.isPermanentFailure {
                    errors += 1
                    if errors >= limits.errorsBeforeDisconnect {
                        try await send(reply)
                        try await send(SMTPReply(421, .temporarySystemError, "\(hostname) Too many errors, closing connection"))
                        return
                    }
                }
                try await send(reply)
                if close { return }
            }
        }
    }

    /// The client's EHLO argument as it may be echoed: printable ASCII only, at most 255 characters.
    static func printable(_ text: String) -> String {
        String(text.unicodeScalars.prefix(255).map { (0x21...0x7E).contains($0.value) ? Character($0) : "?" })
    }
}
