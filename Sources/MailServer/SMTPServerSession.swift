import Logging
import NIOCore
import SMTPProtocol

/// One client connection, from greeting to close: reads bytes, feeds them to SMTPProtocol's
/// ``SMTPServerStateMachine``, performs its actions, and answers its policy questions.
///
/// Replies are batched and written when the machine needs more input or an answer, which is the
/// flush point pipelining needs. Until the queue and policy land (their own issues), MAIL is
/// refused with 554 5.3.2: no message is acknowledged that is not safely stored.
struct SMTPServerSession {
    let configuration: ServerConfiguration
    let logger: Logger

    func run(on connection: NIOAsyncChannel<ByteBuffer, ByteBuffer>) async {
        logger.debug("session opened")
        do {
            try await connection.executeThenClose { inbound, outbound in
                try await converse(inbound: inbound, outbound: outbound, allocator: connection.channel.allocator)
            }
        } catch {
            logger.debug("session ended by error", metadata: ["error": "\(error)"])
        }
        logger.debug("session closed")
    }

    private func converse(
        inbound: NIOAsyncChannelInboundStream<ByteBuffer>,
        outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>,
        allocator: ByteBufferAllocator
    ) async throws {
        var limits = configuration.limits.protocolLimits
        limits.commandTimeout = configuration.limits.commandTimeout
        var machine = SMTPServerStateMachine(configuration: SMTPServerConfiguration(
            hostname: configuration.hostname,
            limits: limits))
        machine.start()
        var pending = allocator.buffer(capacity: 512)
        var iterator = inbound.makeAsyncIterator()
        while true {
            while let action = machine.next() {
                switch action {
                case .send(let reply):
                    if reply.isPermanentFailure || reply.isTransientFailure {
                        logger.info("reply", metadata: ["reply": "\(reply)"])
                    }
                    reply.encode(into: &pending)
                case .close:
                    if pending.readableBytes > 0 { try await outbound.write(pending) }
                    return
                case .hello:
                    machine.accept()
                case .mail:
                    machine.reject(SMTPReply(554, EnhancedStatusCode(5, 3, 2)!, "\(configuration.hostname) is not accepting mail yet"))
                case .recipient, .data, .messageComplete:
                    machine.reject(SMTPReply(503, .invalidCommand, "Bad sequence of commands"))
                case .messageText, .transactionAborted, .authCancelled:
                    break
                case .verify, .expand:
                    machine.accept()
                case .etrn:
                    machine.reject(SMTPReply(458, EnhancedStatusCode(4, 3, 0)!, "Unable to queue messages"))
                case .authStart, .authResponse:
                    machine.authFailed(SMTPReply(454, .temporarySecurityError, "Authentication not available"))
                case .startTLS:
                    // Not offered (no certificate in this configuration), so never reached.
                    machine.tlsFailed()
                }
            }
            if pending.readableBytes > 0 {
                try await outbound.write(pending)
                pending = allocator.buffer(capacity: 512)
            }
            let bytes: ByteBuffer?
            do {
                bytes = try await iterator.next()
            } catch is CommandTimeout {
                // The machine says what a timeout means now (421 4.4.2 and close).
                machine.timedOut()
                continue
            }
            guard let bytes else { return }
            machine.receive(bytes)
        }
    }
}
