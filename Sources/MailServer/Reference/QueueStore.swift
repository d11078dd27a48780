import NIOCore
import SMTPProtocol

/// The durable spool (``MailQueue``) as the reference server's ``MessageStore``: a message's
/// 250 goes out only once its text and envelope are on disk and flushed (group commit), and a
/// spool that cannot take it answers `452 4.3.1` (the client keeps the message).
struct QueueStore: MessageStore {
    let queue: MailQueue
    /// The queue runner that delivers what is committed, once it runs: each committed message is
    /// handed to it at once, with what its first attempt can use (``DeliveryHint``).
    var runner: QueueRunner?

    init(queue: MailQueue, runner: QueueRunner? = nil) {
        self.queue = queue
        self.runner = runner
    }

    /// The store with `runner` delivering what it commits.
    func delivering(with runner: QueueRunner) -> QueueStore {
        QueueStore(queue: queue, runner: runner)
    }

    var logStatus: String { "queued" }

    var summary: String { "accepted mail is queued durably in \(queue.directory)" }

    func acceptedReply(queueID: String) -> SMTPReply {
        .messageAccepted(queueID: queueID)
    }

    func beginMessage() async throws -> any MessageStoreWriter {
        do {
            return QueueStoreWriter(writer: try queue.beginMessage(), runner: runner)
        } catch {
            throw SMTPRefusal(error.reply)
        }
    }
}

/// One message on its way into the spool; the spool's errors become its 452 reply.
struct QueueStoreWriter: MessageStoreWriter {
    let writer: QueueMessageWriter
    let runner: QueueRunner?
    /// The text of a small message, for the runner's first attempt; `nil` once it is too long.
    var text: ByteBuffer? = ByteBuffer()

    init(writer: QueueMessageWriter, runner: QueueRunner?) {
        self.writer = writer
        self.runner = runner
    }

    mutating func append(_ piece: ByteBuffer) async throws {
        if runner != nil, text != nil {
            if text!.readableBytes + piece.readableBytes <= DeliveryHint.textLimit {
                text!.writeImmutableBuffer(piece)
            } else {
                text = nil
            }
        }
        do {
            try await writer.append(piece)
        } catch {
            throw SMTPRefusal(error.reply)
        }
    }

    mutating func commit(_ envelope: MessageEnvelope) async throws -> String {
        let stored = QueueEnvelope(
            reversePath: envelope.sender, mailParameters: envelope.mailParameters,
            recipients: envelope.recipients.map { SMTPEnvelope.Recipient($0.path, parameters: $0.parameters) },
            client: QueueEnvelope.Client(
                address: envelope.clientAddress, hostName: envelope.clientHostName, heloName: envelope.helo, protocolName: envelope.protocolName,
                authenticatedUser: envelope.authenticatedUser, tls: envelope.tls))
        let id: QueueID
        do {
            id = try await writer.commit(stored)
        } catch {
            throw SMTPRefusal(error.reply)
        }
        runner?.submitted(id, hint: DeliveryHint(text: text, decisions: envelope.recipients.map(\.routing)))
        return id.description
    }

    mutating func abort() async {
        writer.abort()
    }
}
