import Foundation
import NIOCore
import SMTPClient
import SMTPProtocol
import TestSupport
import Testing

/// SMTPClient against Postfix's smtp-sink: plain, pipelined, many messages over one connection,
/// LMTP, and smtp-sink's ways of failing.
@Suite("SMTPClient against Postfix's smtp-sink")
struct SmtpSinkTests {
    static let text = "Subject: test\r\nFrom: alice@client.example.test\r\n\r\nHello.\r\n.A line that starts with a dot\r\n..two\r\nlast line without end"

    @Test("one message, with and without PIPELINING; dot-stuffed and ended with CRLF.CRLF", arguments: [false, true])
    func oneMessage(pipelining: Bool) async throws {
        let sink = try SmtpSink(pipelining ? [] : ["-p"], dump: true)
        let result = try await SMTPClient.send(
            Self.text, from: Mail.mailbox("alice@client.example.test"),
            to: [Mail.mailbox("bob@example.test"), Mail.mailbox("carol@example.test")],
            via: .smartHost("127.0.0.1", port: sink.port, tls: .none), configuration: Mail.configuration())
        #expect(result.allAccepted)
        #expect(result.recipients.map(\.stage) == [.dataTermination, .dataTermination])
        #expect(result.server.capabilities.contains(.pipelining) == pipelining)
        let dumps = sink.dumpedMessages()
        try #require(dumps.count == 1)
        // smtp-sink dumps the text unstuffed, with LF line ends and an empty line after it; the
        // unfinished last line got its end.
        #expect(dumps[0].hasSuffix("\n\nHello.\n.A line that starts with a dot\n..two\nlast line without end\n\n"))
        #expect(dumps[0].contains("X-Rcpt-Args: <carol@example.test>"))
    }

    @Test("a server without ESMTP: EHLO refused, HELO, and the message still goes")
    func heloFallback() async throws {
        let sink = try SmtpSink(["-e"], dump: true)
        let result = try await SMTPClient.send(
            Self.text, from: Mail.mailbox("alice@client.example.test"), to: [Mail.mailbox("bob@example.test")],
            via: .smartHost("127.0.0.1", port: sink.port, tls: .opportunistic), configuration: Mail.configuration())
        #expect(result.allAccepted)
        #expect(result.server.capabilities.extensions.isEmpty)
        #expect(sink.dumpedMessages().first?.contains("X-Client-Proto: SMTP") == true)
    }

    @Test("transactions asked for at once on one connection run one after another")
    func concurrentSends() async throws {
        let sink = try SmtpSink(dump: true)
        let connection = try await SMTPClientConnection.open(to: .smartHost("127.0.0.1", port: sink.port, tls: .none), configuration: Mail.configuration())
        let results = try await withThrowingTaskGroup(of: SMTPSendResult.self) { group in
            for index in 0..<8 {
                group.addTask {
                    try await connection.send("Subject: \(index)\r\n\r\nbody \(index)\r\n", envelope: Mail.envelope(from: nil, to: ["bob@example.test"]))
                }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        await connection.close()
        #expect(results.count == 8)
        #expect(results.allSatisfy { $0.allAccepted })
        #expect(sink.dumpedMessages().count == 8)
    }

    @Test("a body streamed in small pieces arrives whole")
    func streamedBody() async throws {
        let sink = try SmtpSink(dump: true)
        let line = "The quick brown fox jumps over the lazy dog.\r\n"
        let text = "Subject: streamed\r\n\r\n" + String(repeating: line, count: 2000) + ".\r\n"
        let result = try await SMTPClient.send(
            Mail.pieces(text, size: 333), from: Mail.mailbox("alice@client.example.test"), to: [Mail.mailbox("bob@example.test")],
            via: .smartHost("127.0.0.1", port: sink.port, tls: .none), configuration: Mail.configuration())
        #expect(result.allAccepted)
        let dumps = sink.dumpedMessages()
        try #require(dumps.count == 1)
        #expect(dumps[0].hasSuffix(String(repeating: "The quick brown fox jumps over the lazy dog.\n", count: 2000) + ".\n\n"))
    }

    @Test("many messages over one connection, then the reuse limit")
    func manyMessages() async throws {
        let sink = try SmtpSink(dump: true)
        var configuration = Mail.configuration()
        configuration.maximumMessagesPerConnection = 25
        let connection = try await SMTPClientConnection.open(
            to: .smartHost("127.0.0.1", port: sink.port, tls: .none), configuration: configuration)
        for index in 0..<25 {
            let result = try await connection.send(
                "Subject: message \(index)\r\n\r\nbody \(index)\r\n",
                envelope: Mail.envelope(from: "alice@client.example.test", to: ["bob@example.test"]))
            #expect(result.allAccepted)
        }
        #expect(connection.messagesSent == 25)
        #expect(!connection.canSend)
        let refused = await #expect(throws: SMTPClientError.self) {
            try await connection.send("x", envelope: Mail.envelope(from: nil, to: ["bob@example.test"]))
        }
        #expect(refused?.kind == .invalidRequest)
        await connection.close()
        #expect(sink.dumpedMessages().count == 25)
        // One connection carried them all.
        #expect(sink.dumpedMessages().allSatisfy { $0.contains("X-Client-Addr: 127.0.0.1") })
    }

    @Test("LMTP: LHLO and one reply per recipient after the message")
    func lmtp() async throws {
        let sink = try SmtpSink(["-L"], dump: true)
        let connection = try await SMTPClientConnection.open(
            to: .lmtp(host: "127.0.0.1", port: sink.port), configuration: Mail.configuration())
        let result = try await connection.send(
            "Subject: lmtp\r\n\r\nbody\r\n", envelope: Mail.envelope(from: "alice@client.example.test", to: ["bob@example.test", "carol@example.test"]))
        await connection.close()
        #expect(result.allAccepted)
        #expect(result.recipients.count == 2)
        #expect(sink.dumpedMessages().count == 1)
    }

    @Test("LMTP over a Unix-domain socket")
    func lmtpSocket() async throws {
        let sink = try SmtpSink(["-L"], socket: "lmtp.socket")
        let result = try await SMTPClient.send(
            "Subject: lmtp\r\n\r\nbody\r\n", from: Mail.mailbox("alice@client.example.test"),
            to: [Mail.mailbox("bob@example.test")], via: .lmtp(socket: sink.directory.file("lmtp.socket")), configuration: Mail.configuration())
        #expect(result.allAccepted)
        #expect(result.server.port == 0)
        #expect(result.server.address == sink.directory.file("lmtp.socket"))
    }

    @Test("DATA's 354 never comes in time: the error names DATA")
    func dataTimeout() async throws {
        // Without PIPELINING, so that DATA waits alone (a pipelining server may hold the replies
        // of the whole group, and then MAIL's timeout applies, as in Postfix's client).
        let sink = try SmtpSink(["-p", "-w", "5"])
        var configuration = Mail.configuration()
        configuration.timeouts[.dataInitiation] = .milliseconds(500)
        let error = await #expect(throws: SMTPClientError.self) {
            try await SMTPClient.send(
                "Subject: x\r\n\r\nx\r\n", from: Mail.mailbox("alice@client.example.test"), to: [Mail.mailbox("bob@example.test")],
                via: .smartHost("127.0.0.1", port: sink.port, tls: .none), configuration: configuration)
        }
        let failure = try #require(error)
        #expect(failure.kind == .timedOut)
        #expect(failure.stage == .dataInitiation)
        #expect(failure.message == "no reply within the DATA timeout of 0.5 seconds")
        #expect(failure.partialResult?.recipients.map(\.status) == [.temporaryFailure])
    }

    @Test("421 after RCPT: the session ends, the recipients failed for now, no QUIT")
    func closingAfterRecipient() async throws {
        let sink = try SmtpSink(["-Q", "rcpt"])
        let error = await #expect(throws: SMTPClientError.self) {
            try await SMTPClient.send(
                "Subject: x\r\n\r\nx\r\n", from: Mail.mailbox("alice@client.example.test"), to: [Mail.mailbox("bob@example.test")],
                via: .smartHost("127.0.0.1", port: sink.port, tls: .none), configuration: Mail.configuration())
        }
        let failure = try #require(error)
        #expect(failure.kind == .serviceClosing)
        #expect(failure.stage == .recipient)
        #expect(failure.reply?.code == 421)
        #expect(failure.isTemporary)
        let partial = try #require(failure.partialResult)
        #expect(partial.recipients.map(\.status) == [.temporaryFailure])
        #expect(partial.recipients.first?.reply.code == 421)
    }

    @Test("the server aborts in the middle of the message text: the stage is named, nothing counts as sent")
    func abortMidData() async throws {
        let sink = try SmtpSink(["-A", "0"])
        let text = "Subject: big\r\n\r\n" + String(repeating: String(repeating: "x", count: 998) + "\r\n", count: 20_000)
        let error = await #expect(throws: SMTPClientError.self) {
            try await SMTPClient.send(
                Mail.pieces(text, size: 64 * 1024), from: Mail.mailbox("alice@client.example.test"), to: [Mail.mailbox("bob@example.test")],
                via: .smartHost("127.0.0.1", port: sink.port, tls: .none), configuration: Mail.configuration())
        }
        let failure = try #require(error)
        // smtp-sink answers "550 This violates SMTP" in the middle of the text and stops reading.
        #expect(failure.kind == .refused)
        #expect(failure.stage == .messageText)
        #expect(failure.reply?.code == 550)
        #expect(!failure.isTemporary)
        let partial = try #require(failure.partialResult)
        #expect(partial.recipients.map(\.status) == [.permanentFailure])
        #expect(partial.recipients.first?.stage == .messageText)
    }

    @Test("hard refusal of every RCPT: permanent per-recipient failures, no message text sent")
    func refusedRecipients() async throws {
        let sink = try SmtpSink(["-f", "rcpt"], dump: true)
        let result = try await SMTPClient.send(
            "Subject: x\r\n\r\nx\r\n", from: Mail.mailbox("alice@client.example.test"), to: [Mail.mailbox("bob@example.test")],
            via: .smartHost("127.0.0.1", port: sink.port, tls: .none), configuration: Mail.configuration())
        #expect(result.recipients.map(\.status) == [.permanentFailure])
        #expect(result.recipients.first?.stage == .recipient)
        #expect(result.recipients.first?.reply.code == 500)
        #expect(result.messageReply == nil)
        #expect(sink.dumpedMessages().isEmpty)
    }
}
