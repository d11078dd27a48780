import Logging
import MailServer
import MailSystem
import NIOCore
import Testing
import TestSupport

/// Threads for the servers tests run in this process.
let testServerThreads = WorkerPool(.init(name: "test-servers", threads: 2, queueLimit: 1000, deadline: .seconds(600)))

/// Starts a server on a free loopback port for the duration of `body`.
func withServer(
    _ configure: (inout ServerConfiguration) -> Void = { _ in },
    backend: any SMTPBackend = TestBackend(),
    _ body: (Int) async throws -> Void
) async throws {
    var configuration = ServerConfiguration(
        hostname: "mx.example.test", listeners: [.init(host: "127.0.0.1", port: 0, mode: .smtp)])
    configure(&configuration)
    let server = try await SMTPServer.bind(configuration: configuration, backend: backend, logger: Logger(label: "test"))
    let port = try #require(server.localAddresses.first?.port)
    // The server's sessions run on threads of their own: the test process's two cooperative
    // threads are shared with every other suite, and a busy one must not time a session out.
    let running = Task { try await server.run(on: testServerThreads) }
    defer { running.cancel() }
    try await body(port)
}

/// Talks to a server with Python's smtplib, a real SMTP client.
func smtplib(_ port: Int, _ script: String) async throws -> String {
    let program = """
        import smtplib, sys
        s = smtplib.SMTP('127.0.0.1', \(port), timeout=60)
        \(script)
        """
    return try await ExternalTool.runChecked("python3", ["-c", program]).standardOutput
}

@Suite("The server over loopback: greeting, EHLO, NOOP, QUIT, limits")
struct FoundationServerTests {
    @Test("Python's smtplib greets, says EHLO, NOOP and QUIT")
    func smtplibSession() async throws {
        try await withServer { port in
            let output = try await smtplib(port, """
                print(s.ehlo('client.example'))
                print(s.noop())
                print(s.quit())
                """)
            #expect(output == """
                (250, b'mx.example.test Hello client.example\\nPIPELINING\\n8BITMIME\\nENHANCEDSTATUSCODES\\nSMTPUTF8\\nDSN\\nCHUNKING\\nSIZE 52428800')
                (250, b'2.0.0 OK')
                (221, b'2.0.0 mx.example.test closing connection')

                """)
        }
    }

    @Test("raw exchange: greeting, pipelined commands, unknown verbs, bare LF, an overlong line")
    func rawExchange() async throws {
        try await withServer { port in
            let client = try await LineClient(port: port)
            #expect(try await client.readReply() == "220 mx.example.test ESMTP SwiftMTA ready")
            try await client.send("HELO a.example\r\nNOOP\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<c@elsewhere.example>\r\nRSET\r\n")
            #expect(try await client.readReply() == "250 mx.example.test Hello a.example")
            #expect(try await client.readReply() == "250 2.0.0 OK")
            #expect(try await client.readReply() == "250 2.1.0 Sender <a@b.example> OK")
            #expect(try await client.readReply() == "550 5.7.1 Relaying denied")
            #expect(try await client.readReply() == "250 2.0.0 Reset state")
            // A bare LF does not end a line: the command is NOOP\nNOOP, one line with a control byte.
            try await client.send("NOOP\nNOOP\r\n")
            #expect(try await client.readReply() == "500 5.5.2 command line contains a control character")
            try await client.send(String(repeating: "A", count: 5000) + "\r\n")
            #expect(try await client.readReply() == "500 5.5.2 Line too long")
            try await client.send("EHLO\r\nQUIT\r\n")
            #expect(try await client.readReply() == "501 5.5.4 EHLO requires a domain address")
            #expect(try await client.readReply() == "221 2.0.0 mx.example.test closing connection")
            #expect(try await client.readToEnd() == "")
        }
    }

    @Test("too many errors end the session with 421")
    func errorLimit() async throws {
        try await withServer({ $0.limits.protocolLimits.errorsBeforeDisconnect = 3 }) { port in
            let client = try await LineClient(port: port)
            _ = try await client.readReply()
            try await client.send("BOGUS\r\nTURN\r\nBOGUS\r\nNOOP\r\n")
            #expect(try await client.readReply() == "500 5.5.1 command unrecognized")
            #expect(try await client.readReply() == "502 5.5.1 command not implemented")
            #expect(try await client.readReply() == "500 5.5.1 command unrecognized")
            #expect(try await client.readReply() == "421 4.3.0 mx.example.test Too many errors, closing connection")
            #expect(try await client.readToEnd() == "")
        }
    }

    @Test("a silent client is told 421 4.4.2 and disconnected after the command timeout")
    func commandTimeout() async throws {
        try await withServer({ $0.limits.commandTimeout = .seconds(1) }) { port in
            let client = try await LineClient(port: port)
            // The greeting, then (the timer runs from the connection's start) the timeout reply.
            let everything = try await client.readToEnd()
            #expect(everything.hasPrefix("220 mx.example.test"))
            #expect(everything.hasSuffix("421 4.4.2 mx.example.test Error: timeout exceeded\r\n"))
        }
    }
}
