import NIOCore
import SMTPProtocol

/// The durable spool (``MailQueue``) as the reference server's ``MessageStore``: a message's
/// 250 goes out only once its text and envelope are on disk and flushed (group commit), and a
/// spool that cannot take it answers `452 4.3.1` (the client keeps the message).
struct QueueStore: MessageStore {
    let queue: MailQueue

    var logStatus: String { "queued" }

    var summary: String { "accepted mail is queued durably in \(queue.directory)" }

    func acceptedReply(queueID: String) -> SMTPReply {
        .messageAccepted(queueID: queueID)
    }

    func beginMessage() async throws -> any MessageStoreWriter {
        do {
            return QueueStoreWriter(writer: try queue.beginMessage())
        } catch {
            throw SMTPRefusal(error.reply)
        }
    }
}

/// One message on its way into the spool; the spool's errors become its 452 reply.
struct QueueStoreWriter: MessageStoreWriter {
    let writer: QueueMessageWriter

    mutating func append(_ text: ByteBuffer) async throws {
        do {
            try await writer.append(text)
        } catch {
            throw SMTPRefusal(error.reply)
        }
    }

    mutating func commit(_ envelope: MessageEnvelope) async throws -> String {
        let stored = QueueEnvelope(
            reversePath: envelope.sender, mailParameters: envelope.mailParameters,
            recipients: envelope.recipients.map { SMTPEnvelope.Recipient($0.path, parameters: $0.parameters) },
            client: QueueEnvelope.Client(
                address: envelope.clientAddress, heloName: envelope.helo, protocolName: envelope.protocolName,
                authenticatedUser: envelope.authenticatedUser, tls: envelope.tls))
        do {
            return try await writer.commit(stored).description
        } catch {
            throw SMTPRefusal(error.reply)
        }
    }

    mutating func abort() async {
        writer.abort()
    }
}
