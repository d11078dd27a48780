// A Swift service with its own SMTP endpoint, on SwiftMTA's embedding API: it receives mail for
// example.org on 127.0.0.1 and prints each message. Run: swift run ReceiveMail [PORT]
import Logging
import MailServer
import NIOCore
import SMTPProtocol
#if canImport(Glibc)
import Glibc
#endif

struct Inbox: SMTPBackend {
    func makeSession(for connection: SMTPConnectionInfo) async throws -> any SMTPSession { InboxSession() }
}

struct InboxSession: SMTPSession {
    func recipient(_ path: ForwardPath, parameters: RecipientParameters) async throws -> SMTPDecision {
        path.mailbox?.domain.lookupKey == "example.org" ? .accept : .reject(.relayingDenied)
    }

    func message() async throws -> any SMTPMessageReceiver { PrintedMessage() }
}

/// The text arrives piece by piece; this one prints it and counts it.
struct PrintedMessage: SMTPMessageReceiver {
    var size = 0

    mutating func append(_ text: ByteBuffer) async throws {
        size += text.readableBytes
        print(String(buffer: text), terminator: "")
    }

    mutating func finish() async throws -> SMTPDecision {
        print("-- end of message, \(size) octets")
        fflush(nil)
        return .accept
    }

    mutating func abort() async {}
}

@main
struct ReceiveMail {
    static func main() async throws {
        let port = CommandLine.arguments.dropFirst().first.flatMap { Int($0) } ?? 2526
        let configuration = ServerConfiguration(hostname: "mx.example.org", listeners: [.init(host: "127.0.0.1", port: port, mode: .smtp)])
        let server = try await SMTPServer.bind(configuration: configuration, backend: Inbox(), logger: Logger(label: "inbox"))
        print("ReceiveMail: listening on 127.0.0.1 port \(server.localAddresses.first?.port ?? port)")
        fflush(nil)
        try await server.run()
    }
}
