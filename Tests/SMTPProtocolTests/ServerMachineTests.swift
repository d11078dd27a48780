import NIOCore
import SMTPProtocol
import TestSupport
import Testing

/// The server machine's resource bounds, its answers and their misuse, and its timeouts.
///
/// The floods run on a thread of their own (``offThread(_:)``): seconds of work on the
/// cooperative pool, which has two threads here, would stall every other test.
@Suite("Server state machine: memory, answers, timeouts")
struct ServerMachineTests {
    private static let configuration: SMTPServerConfiguration = {
        var configuration = SMTPServerConfiguration(hostname: "mx.example.test", startTLSAvailable: true, authMechanismsWithoutTLS: ["PLAIN"])
        configuration.limits.messageSize = 1024 * 1024
        return configuration
    }()

    /// A machine that answers every question with yes, collecting what it did.
    private struct Driver {
        var machine = SMTPServerStateMachine(configuration: ServerMachineTests.configuration)
        var replies: [SMTPReply] = []
        var textOctets = 0
        var closed = false

        init() {
            machine.start()
            drain()
        }

        mutating func drain() {
            while let action = machine.next() {
                switch action {
                case .send(let reply): replies.append(reply)
                case .messageText(let text): textOctets += text.readableBytes
                case .close: closed = true
                case .hello, .mail, .recipient, .data, .messageComplete, .verify, .expand, .etrn: machine.accept()
                case .authStart: machine.authChallenge([])
                case .authResponse: machine.authFailed()
                case .startTLS: machine.tlsEstablished()
                case .transactionAborted, .authCancelled: break
                }
            }
        }

        mutating func send(_ text: String) {
            machine.receive(ByteBuffer(string: text))
            drain()
        }

        /// Sends `total` octets made of `unit` repeated, in writes of about 64 KiB that all end
        /// inside a unit (never at a line end, so something unread is always left), and returns
        /// the largest buffer capacity seen after any write.
        mutating func flood(_ unit: String, total: Int) -> Int {
            var largest = 0
            for piece in ServerMachineTests.pieces(of: unit, total: total) {
                machine.receive(piece)
                drain()
                largest = max(largest, machine.bufferCapacity)
            }
            return largest
        }
    }

    /// `unit` repeated to `total` octets, cut in pieces of about 64 KiB: the first one octet short,
    /// the others whole multiples of the unit, so that every piece ends one octet before a unit ends.
    static func pieces(of unit: String, total: Int) -> [ByteBuffer] {
        let length = unit.utf8.count
        let size = 65_536 / length * length
        let stream = ByteBuffer(string: String(repeating: unit, count: size / length + 2))
        var pieces: [ByteBuffer] = []
        var position = 0
        while position < total {
            let take = position == 0 ? size - 1 : size
            pieces.append(stream.getSlice(at: position % length, length: take)!)
            position += take
        }
        return pieces
    }

    @Test("4 MB of pipelined NOOPs, cut anywhere: the buffer's capacity stays bounded")
    func noopFlood() async throws {
        let (largest, replies, closed) = try await offThread {
            var driver = Driver()
            driver.send("EHLO client.example\r\n")
            let largest = driver.flood("NOOP\r\n", total: 4 * 1024 * 1024)
            return (largest, driver.replies.count, driver.closed)
        }
        #expect(largest <= 256 * 1024, "capacity grew to \(largest) octets")
        #expect(replies > 600_000)
        #expect(!closed)
    }

    @Test("4 MB of DATA past a 1 MiB size limit: text is dropped as it comes, the capacity stays bounded")
    func dataFlood() async throws {
        let (largest, text, last) = try await offThread {
            var driver = Driver()
            driver.send("EHLO client.example\r\nMAIL FROM:<a@client.example>\r\nRCPT TO:<b@example.test>\r\nDATA\r\n")
            let largest = driver.flood("a line of message text that goes on\r\n", total: 4 * 1024 * 1024)
            driver.send("\n.\r\n")  // the flood stops one octet short of its last CRLF
            return (largest, driver.textOctets, driver.replies.last?.code)
        }
        #expect(largest <= 256 * 1024, "capacity grew to \(largest) octets")
        #expect(text == 1024 * 1024)
        #expect(last == 552)
    }

    @Test("a 4 MB BDAT chunk: octets are released as they are read, the capacity stays bounded")
    func chunkFlood() async throws {
        let (largest, text) = try await offThread {
            var driver = Driver()
            driver.send("EHLO client.example\r\nMAIL FROM:<a@client.example>\r\nRCPT TO:<b@example.test>\r\nBDAT \(4 * 1024 * 1024 + 65_521) LAST\r\n")
            return (driver.flood("0123456789abcdef", total: 4 * 1024 * 1024), driver.textOctets)
        }
        #expect(largest <= 256 * 1024, "capacity grew to \(largest) octets")
        #expect(text == 1024 * 1024)
    }

    @Test("a line that never ends, in a command or an AUTH exchange: the capacity stays bounded")
    func endlessLines() async throws {
        let (command, challenge, auth, last) = try await offThread {
            var driver = Driver()
            driver.send("EHLO client.example\r\n")
            let command = driver.flood("z", total: 2 * 1024 * 1024)
            driver.send("\r\nAUTH PLAIN\r\n")  // ends the endless line (the flood held its last octet back)
            let challenge = driver.replies.last?.code
            let auth = driver.flood("QUFB", total: 2 * 1024 * 1024)
            driver.send("\r\nNOOP\r\n")
            return (command, challenge, auth, driver.replies.suffix(2).map(\.code))
        }
        #expect(command <= 256 * 1024)
        #expect(challenge == 334)
        #expect(auth <= 256 * 1024)
        #expect(last == [500, 250])
    }

    @Test("a quiet session holds no buffer at all")
    func quietSession() {
        var driver = Driver()
        driver.send("EHLO client.example\r\nNOOP\r\n")
        #expect(driver.machine.bufferCapacity == 0)
    }

    @Test("the line framer and the reply parser release what they returned")
    func framerAndParser() async throws {
        let largest = try await offThread {
            var framer = SMTPLineFramer(maximumLineLength: 512)
            var parser = SMTPReplyParser()
            var largest = 0
            for piece in Self.pieces(of: "250-PIPELINING\r\n250 OK\r\n", total: 4 * 1024 * 1024) {
                framer.append(piece)
                while framer.next() != nil {}
                parser.append(piece)
                while let reply = try parser.next() { precondition(reply.code == 250) }
                largest = max(largest, framer.bufferCapacity, parser.bufferCapacity)
            }
            return largest
        }
        #expect(largest <= 256 * 1024, "capacity grew to \(largest) octets")
    }

    // MARK: - Answers

    private static func machine(at question: String) -> SMTPServerStateMachine {
        var machine = SMTPServerStateMachine(configuration: configuration)
        machine.start()
        _ = machine.next()
        let lines: [String: String] = [
            "mail": "EHLO c.example\r\nMAIL FROM:<a@c.example>\r\n",
            "rcpt": "EHLO c.example\r\nMAIL FROM:<a@c.example>\r\nRCPT TO:<b@example.test>\r\n",
            "data": "EHLO c.example\r\nMAIL FROM:<a@c.example>\r\nRCPT TO:<b@example.test>\r\nDATA\r\n",
            "message": "EHLO c.example\r\nMAIL FROM:<a@c.example>\r\nRCPT TO:<b@example.test>\r\nDATA\r\nx\r\n.\r\n",
            "auth": "EHLO c.example\r\nAUTH PLAIN\r\n",
        ]
        machine.receive(ByteBuffer(string: lines[question]!))
        while let action = machine.next() {
            switch action {
            case .mail where question != "mail", .recipient where question != "rcpt", .data where question != "data":
                machine.accept()
            case .mail, .recipient, .data, .messageComplete, .authStart:
                return machine
            default:
                break
            }
        }
        return machine
    }

    @Test("answers of the wrong kind are misuse: the session ends with 421", arguments: [
        ("mail", "accept", 550), ("rcpt", "accept", 451), ("data", "accept", 250), ("data", "accept", 550),
        ("message", "accept", 354), ("rcpt", "reject", 250), ("mail", "reject", 354), ("message", "reject", 221),
        ("auth", "authFailed", 235), ("rcpt", "replyAndClose", 250),
    ])
    func misuse(question: String, answer: String, code: Int) {
        var machine = Self.machine(at: question)
        #expect(machine.awaitedInput == nil, "the machine should be waiting for an answer")
        let reply = SMTPReply(code, "text")
        switch answer {
        case "accept": machine.accept(reply)
        case "reject": machine.reject(reply)
        case "authFailed": machine.authFailed(reply)
        default: machine.replyAndClose(reply)
        }
        #expect(machine.misuseDescription != nil)
        var actions: [SMTPServerStateMachine.Action] = []
        while let action = machine.next() { actions.append(action) }
        #expect(actions.last == .close)
        #expect(actions.contains { if case .send(let sent) = $0 { sent.code == 421 } else { false } })
        #expect(machine.isClosed)
    }

    @Test("answers of the right kind are taken", arguments: [
        ("mail", "accept", 250), ("rcpt", "accept", 251), ("data", "accept", 354), ("message", "accept", 250),
        ("rcpt", "reject", 550), ("mail", "reject", 451), ("auth", "authFailed", 454),
    ])
    func rightAnswers(question: String, answer: String, code: Int) {
        var machine = Self.machine(at: question)
        let reply = SMTPReply(code, "text")
        switch answer {
        case "accept": machine.accept(reply)
        case "reject": machine.reject(reply)
        default: machine.authFailed(reply)
        }
        #expect(machine.misuseDescription == nil)
        #expect(machine.next() == .send(reply))
        #expect(!machine.isClosed)
    }

    @Test("reply then close: the reply, the transaction dropped, the connection closed")
    func replyAndClose() {
        var machine = Self.machine(at: "rcpt")
        machine.replyAndClose(SMTPReply(554, .deliveryNotAuthorized, "Go away"))
        var actions: [SMTPServerStateMachine.Action] = []
        while let action = machine.next() { actions.append(action) }
        #expect(actions == [.transactionAborted, .send(SMTPReply(554, .deliveryNotAuthorized, "Go away")), .close])
        #expect(machine.misuseDescription == nil)
    }

    // MARK: - Timeouts

    @Test("the machine says which timeout runs, and what a timeout means")
    func timeouts() throws {
        var configuration = Self.configuration
        configuration.limits.commandTimeout = .seconds(300)
        configuration.limits.messageTextTimeout = .seconds(240)
        var machine = SMTPServerStateMachine(configuration: configuration)
        #expect(machine.awaitedInput == nil)
        machine.start()
        #expect(machine.awaitedInput == .command)
        #expect(machine.inputTimeout == .seconds(300))
        while machine.next() != nil {}
        machine.receive(ByteBuffer(string: "EHLO c.example\r\nMAIL FROM:<a@c.example>\r\n"))
        var asked = false
        while let action = machine.next() {
            if case .mail = action {
                #expect(machine.awaitedInput == nil, "no client timeout while the caller decides")
                #expect(machine.inputTimeout == nil)
                machine.accept()
                asked = true
            }
        }
        #expect(asked)
        machine.receive(ByteBuffer(string: "RCPT TO:<b@example.test>\r\nDATA\r\n"))
        while let action = machine.next() {
            switch action {
            case .recipient, .data: machine.accept()
            default: break
            }
        }
        #expect(machine.awaitedInput == .messageText)
        #expect(machine.inputTimeout == .seconds(240))
        machine.timedOut()
        var actions: [SMTPServerStateMachine.Action] = []
        while let action = machine.next() { actions.append(action) }
        #expect(actions == [.transactionAborted, .send(SMTPReply(421, .badConnection, "mx.example.test Error: timeout exceeded")), .close])
        #expect(machine.awaitedInput == nil)
    }

    @Test("AUTH waits for a response line, STARTTLS for the handshake")
    func authAndTLSWaits() {
        var machine = Self.machine(at: "auth")
        machine.authChallenge([])
        #expect(machine.awaitedInput == .authResponse)
        var tls = SMTPServerStateMachine(configuration: Self.configuration)
        tls.start()
        tls.receive(ByteBuffer(string: "EHLO c.example\r\nSTARTTLS\r\n"))
        while tls.next() != nil {}
        #expect(tls.awaitedInput == .tlsHandshake)
        tls.receive(ByteBuffer(string: "NOOP\r\n"))
        #expect(tls.discardedPlaintextOctets == 6)
        tls.tlsEstablished()
        #expect(tls.awaitedInput == .command)
        #expect(tls.bufferedByteCount == 0)
    }
}
