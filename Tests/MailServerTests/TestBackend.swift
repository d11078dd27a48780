import MailServer
import NIOCore
import SMTPProtocol
import Synchronization

/// A backend for tests of the server itself: recipients in `domain` are accepted, every
/// message is kept (its text and envelope) for the test to look at.
final class TestBackend: SMTPBackend {
    struct Message: Sendable {
        var sender: ReversePath
        var recipients: [ForwardPath]
        var text: String
    }

    let domain: String
    private let messages = Mutex<[Message]>([])

    init(domain: String = "example.test") {
        self.domain = domain
    }

    var received: [Message] { messages.withLock { $0 } }

    func makeSession(for connection: SMTPConnectionInfo) async throws -> any SMTPSession {
        Session(backend: self)
    }

    func store(_ message: Message) {
        messages.withLock { $0.append(message) }
    }

    struct Session: SMTPSession {
        let backend: TestBackend
        var sender: ReversePath = .null
        var recipients: [ForwardPath] = []

        mutating func mail(from path: ReversePath, parameters: MailParameters) async throws -> SMTPDecision {
            sender = path
            return .accept
        }

        mutating func recipient(_ path: ForwardPath, parameters: RecipientParameters) async throws -> SMTPDecision {
            guard path.mailbox?.domain.lookupKey == backend.domain else { return .reject(.relayingDenied) }
            recipients.append(path)
            return .accept
        }

        mutating func message() async throws -> any SMTPMessageReceiver {
            Receiver(backend: backend, message: Message(sender: sender, recipients: recipients, text: ""))
        }

        mutating func reset() async {
            sender = .null
            recipients = []
        }
    }

    struct Receiver: SMTPMessageReceiver {
        let backend: TestBackend
        var message: Message

        mutating func append(_ text: ByteBuffer) async throws {
            message.text += String(buffer: text)
        }

        mutating func finish() async throws -> SMTPDecision {
            backend.store(message)
            return .accept(.messageAccepted(queueID: "TEST\(backend.received.count)"))
        }

        mutating func abort() async {}
    }
}
