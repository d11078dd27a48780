import Logging
import NIOCore
import SMTPProtocol
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The reference server's ``MessageStore``: the durable spool. A message is committed — on disk,
/// flushed — before its 250, and handed to the queue runner at once. A spool that cannot take a
/// message (full, failing) refuses it with 452 4.3.1 and keeps nothing of it.
///
/// Made before the spool is opened (the configuration is checked first); ``attach(queue:runner:)``
/// connects it once the server has opened the spool.
final class QueueStore: MessageStore {
    let directory: String
    private let attached = Mutex<(MailQueue, QueueRunner?)?>(nil)

    init(directory: String) {
        self.directory = directory
    }

    /// Why the spool directory cannot be used, found without changing anything (for check-config
    /// and before start): it is not a folder, or it (or the folder it would be made in) is not
    /// writable. `nil` when it looks usable; opening the spool checks again.
    static func problem(with path: String) -> String? {
        var candidate = path
        while true {
            var status = stat()
            if stat(candidate, &status) == 0 {
                guard status.st_mode & S_IFMT == S_IFDIR else { return "\(candidate) is not a folder" }
                guard access(candidate, W_OK | X_OK) == 0 else {
                    return candidate == path ? "the spool \(path) is not writable" : "the spool \(path) cannot be made: \(candidate) is not writable"
                }
                return nil
            }
            guard let slash = candidate.lastIndex(of: "/"), slash != candidate.startIndex else { return nil }
            candidate = String(candidate[..<slash])
        }
    }

    func attach(queue: MailQueue, runner: QueueRunner?) {
        attached.withLock { $0 = (queue, runner) }
    }

    var logStatus: String { "queued" }

    var summary: String { "spool \(directory): a message is on disk before its 250" }

    func acceptedReply(queueID: String) -> SMTPReply {
        .messageAccepted(queueID: queueID)
    }

    func beginMessage() async throws -> any MessageStoreWriter {
        guard let (queue, runner) = attached.withLock({ $0 }) else {
            throw SMTPRefusal(SMTPReply(451, .temporarySystemError, "The spool is not open yet, try again later"))
        }
        do {
            return QueueStoreWriter(writer: try queue.beginMessage(), runner: runner)
        } catch {
            throw SMTPRefusal(error.reply)
        }
    }
}

/// One message on its way into the spool.
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
        if text != nil {
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
        let client = QueueEnvelope.Client(
            address: envelope.clientAddress, heloName: envelope.helo, protocolName: envelope.protocolName,
            authenticatedUser: envelope.authenticatedUser)
        let queued = QueueEnvelope(
            reversePath: envelope.sender, mailParameters: envelope.mailParameters,
            recipients: envelope.recipients.map { SMTPEnvelope.Recipient($0.path, parameters: $0.parameters) }, client: client)
        let id: QueueID
        do {
            id = try await writer.commit(queued)
        } catch {
            if error.kind == .invalidUse { throw SMTPRefusal(SMTPReply(554, EnhancedStatusCode(5, 3, 0)!, "The message cannot be stored as given")) }
            throw SMTPRefusal(error.reply)
        }
        runner?.submitted(id, hint: DeliveryHint(text: text, decisions: envelope.recipients.map(\.routing)))
        return id.description
    }

    mutating func abort() async {
        writer.abort()
    }
}
