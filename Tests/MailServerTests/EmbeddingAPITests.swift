import Foundation
import Logging
import MailServer
import NIOCore
import SMTPProtocol
import Synchronization
import Testing
import TestSupport

/// The embedding API as a Swift service uses it: the example in examples/ReceiveMail run as a
/// program, and backends that decide, refuse, throw and stream.
@Suite("The embedding API")
struct EmbeddingAPITests {
    @Test("examples/ReceiveMail receives a message sent with smtplib, and refuses other domains")
    func example() async throws {
        let executable = "\(ExternalTool.repositoryRoot)/.build/debug/ReceiveMail"
        let port = try LoopbackPort.free()
        let process = try BackgroundProcess(executable, ["\(port)"])
        defer { process.stop() }
        try await offThread { try LoopbackPort.waitUntilAccepting(port) }
        let output = try await ExternalTool.runChecked("python3", ["-c", """
            import smtplib
            with smtplib.SMTP('127.0.0.1', \(port), timeout=20) as s:
                print(s.sendmail('a@sender.example', ['bob@example.org'], 'Subject: embedded\\r\\n\\r\\nHello, service.\\r\\n'))
                try:
                    s.sendmail('a@sender.example', ['bob@elsewhere.example'], 'Subject: no\\r\\n\\r\\nno\\r\\n')
                except smtplib.SMTPRecipientsRefused as error:
                    print(error.recipients)
            """]).standardOutput
        #expect(output == "{}\n{'bob@elsewhere.example': (550, b'5.7.1 Relaying denied')}\n")
        var printed = ""
        for _ in 0..<100 {
            printed = process.output()
            if printed.contains("-- end of message") { break }
            try await Task.sleep(for: .milliseconds(20))
        }
        #expect(printed.contains("ReceiveMail: listening on 127.0.0.1 port \(port)"))
        #expect(printed.contains("Received: from "))
        #expect(printed.contains("by mx.example.org (SwiftMTA) with ESMTP"))
        #expect(printed.contains("Subject: embedded\r\n\r\nHello, service.\r\n-- end of message, "), "\(printed)")
    }

    /// A backend whose every step does what the test says.
    struct ScriptedBackend: SMTPBackend {
        struct Failure: Error, CustomStringConvertible {
            var description: String { "database password is hunter2" }
        }

        let mail: @Sendable (ReversePath, MailParameters) throws -> SMTPDecision
        var append: @Sendable () throws -> Void = {}
        var connected: @Sendable () throws -> SMTPDecision = { .accept }

        func makeSession(for connection: SMTPConnectionInfo) async throws -> any SMTPSession {
            Session(backend: self)
        }

        struct Session: SMTPSession {
            let backend: ScriptedBackend
            func connected() async throws -> SMTPDecision { try backend.connected() }
            func mail(from path: ReversePath, parameters: MailParameters) async throws -> SMTPDecision { try backend.mail(path, parameters) }
            func recipient(_ path: ForwardPath, parameters: RecipientParameters) async throws -> SMTPDecision { .accept }
            func message() async throws -> any SMTPMessageReceiver { Receiver(append: backend.append) }
        }

        struct Receiver: SMTPMessageReceiver {
            let append: @Sendable () throws -> Void
            mutating func append(_ text: ByteBuffer) async throws { try append() }
            mutating func finish() async throws -> SMTPDecision { .accept(SMTPReply(250, .success, "stored")) }
            mutating func abort() async {}
        }
    }

    @Test("decisions carry replies; a thrown SMTPRefusal gives its reply; any other error a generic 451 without its text")
    func decisionsAndErrors() async throws {
        let backend = ScriptedBackend(mail: { path, _ in
            switch path.mailbox?.localPart.quoted {
            case "refused": throw SMTPRefusal(SMTPReply(550, .deliveryNotAuthorized, "Not you"))
            case "broken": throw ScriptedBackend.Failure()
            case "wrong": return .reject(SMTPReply(250, .success, "a refusal that says yes"))
            case "custom": return .accept(SMTPReply(250, .senderOK, "Welcome"))
            case "tempfail": return .reject(SMTPReply(451, .temporarySystemError, "Try later"))
            default: return .accept
            }
        })
        try await withServer(backend: backend) { port in
            let client = try await LineClient(port: port)
            _ = try await client.readReply()
            try await client.send("EHLO client.example\r\n")
            _ = try await client.readReply()
            for (sender, expected) in [
                ("refused", "550 5.7.1 Not you"),
                ("broken", "451 4.3.0 Requested action aborted: local error in processing"),
                ("wrong", "451 4.3.0 Requested action aborted: local error in processing"),
                ("tempfail", "451 4.3.0 Try later"),
                ("custom", "250 2.1.0 Welcome"),
            ] {
                try await client.send("MAIL FROM:<\(sender)@example.test>\r\n")
                #expect(try await client.readReply() == expected, "\(sender)")
                try await client.send("RSET\r\n")
                _ = try await client.readReply()
            }
        }
    }

    @Test("a receiver that fails mid-message: the rest is read, the message refused with 451, the session goes on")
    func failingReceiver() async throws {
        let count = Mutex(0)
        let backend = ScriptedBackend(mail: { _, _ in .accept }, append: {
            let seen = count.withLock { value in value += 1; return value }
            if seen == 2 { throw ScriptedBackend.Failure() }
        })
        try await withServer(backend: backend) { port in
            // A long timeout: the server shares two cooperative threads with every other test.
            let client = try await LineClient(port: port, timeout: .seconds(60))
            _ = try await client.readReply()
            try await client.send("HELO client.example\r\nMAIL FROM:<a@example.test>\r\nRCPT TO:<b@example.test>\r\nDATA\r\n")
            _ = try await client.readReply()
            _ = try await client.readReply()
            _ = try await client.readReply()
            #expect(try await client.readReply().hasPrefix("354 "))
            try await client.send(String(repeating: "line of text\r\n", count: 2000))
            try await client.send(".\r\nNOOP\r\n")
            #expect(try await client.readReply() == "451 4.3.0 Requested action aborted: local error in processing")
            #expect(try await client.readReply() == "250 2.0.0 OK")
        }
    }

    @Test("a refusal at connect: 554 then only QUIT; a 421 closes at once")
    func refusedConnection() async throws {
        let refusing = ScriptedBackend(mail: { _, _ in .accept }, connected: { .reject(SMTPReply(554, .deliveryNotAuthorized, "No service for you")) })
        try await withServer(backend: refusing) { port in
            let client = try await LineClient(port: port)
            #expect(try await client.readReply() == "554 5.7.1 No service for you")
            try await client.send("EHLO client.example\r\nQUIT\r\n")
            #expect(try await client.readReply() == "503 5.5.1 Bad sequence of commands")
            #expect(try await client.readReply() == "221 2.0.0 mx.example.test closing connection")
        }
        let busy = ScriptedBackend(mail: { _, _ in .accept }, connected: { .reject(SMTPReply(421, .temporarySystemError, "mx.example.test busy")) })
        try await withServer(backend: busy) { port in
            let client = try await LineClient(port: port)
            #expect(try await client.readToEnd() == "421 4.3.0 mx.example.test busy\r\n")
        }
    }

    @Test("the Received: header: protocol, address literal, a HELO that is not a domain only in a comment")
    func receivedHeader() async throws {
        let backend = TestBackend()
        try await withServer(backend: backend) { port in
            let client = try await LineClient(port: port)
            _ = try await client.readReply()
            try await client.send("EHLO bad(helo)name\r\nMAIL FROM:<a@example.test>\r\nRCPT TO:<b@example.test>\r\nDATA\r\n")
            for _ in 0..<4 { _ = try await client.readReply() }
            try await client.send("Subject: x\r\n\r\nbody\r\n.\r\nQUIT\r\n")
            #expect(try await client.readReply() == "250 2.0.0 TEST1 Message accepted for delivery")
        }
        let text = try #require(backend.received.first?.text)
        let lines = text.components(separatedBy: "\r\n")
        #expect(lines[0] == "Received: from [127.0.0.1] ([127.0.0.1]) (HELO bad?helo?name)")
        #expect(lines[1] == "\tby mx.example.test (SwiftMTA) with ESMTP")
        #expect(lines[2].hasPrefix("\tfor <b@example.test>; "))
        #expect(lines[3] == "Subject: x")
    }
}
