import NIOCore
import SMTPProtocol

/// The fuzz targets: each takes arbitrary bytes and must neither crash, hang, nor grow memory
/// without bound. Selected by name (`SWIFTMTA_FUZZ_TARGET` when fuzzing, the first argument when
/// replaying files).
enum FuzzTargets {
    static let all: [String: @Sendable (UnsafeRawBufferPointer) -> Void] = [
        "command": command,
        "path": path,
        "reply": reply,
        "data": data,
        "server": server,
        "bdat": bdat,
    ]

    /// The command parser, and encode → parse for what parses: the same command, on one line.
    static func command(_ bytes: UnsafeRawBufferPointer) {
        guard let parsed = try? SMTPCommand.parse(ByteBuffer(bytes: bytes)) else { return }
        var encoded = ByteBuffer()
        parsed.encode(into: &encoded)
        let view = encoded.readableBytesView
        precondition(view.filter { $0 == 0x0D || $0 == 0x0A || $0 == 0 }.count == 2 && view.suffix(2).elementsEqual([0x0D, 0x0A]),
                     "\(parsed) encodes to more than one line")
        encoded.moveWriterIndex(to: encoded.writerIndex - 2)
        let reparsed = try? SMTPCommand.parse(encoded)
        precondition(reparsed == parsed, "round trip changed \(parsed) into \(String(describing: reparsed))")
    }

    /// The path and mailbox parser: what parses is made again, part by part, by the checked
    /// initializers (the parser and they agree), and its written form parses back the same.
    static func path(_ bytes: UnsafeRawBufferPointer) {
        guard let text = String(validating: bytes, as: UTF8.self) else { return }
        guard let mailbox = try? Mailbox(parsing: text) else { return }
        do {
            let localPart = try LocalPart(mailbox.localPart.unquoted)
            let domain = try MailboxDomain(mailbox.domain.kind)
            precondition(Mailbox(localPart: localPart, domain: domain) == mailbox)
        } catch {
            preconditionFailure("\(mailbox) parsed, but its parts are refused: \(error)")
        }
        let again = try? Mailbox(parsing: mailbox.quoted)
        precondition(again == mailbox, "\(mailbox.quoted) does not parse back to \(mailbox)")
        precondition(!mailbox.quoted.unicodeScalars.contains { $0.value < 0x20 || $0.value == 0x7F })
    }

    /// The reply parser, fed in two pieces split at the first byte's value; no reply it makes
    /// carries a control character.
    static func reply(_ bytes: UnsafeRawBufferPointer) {
        var parser = SMTPReplyParser()
        let split = bytes.isEmpty ? 0 : Int(bytes[0]) % max(bytes.count, 1)
        parser.append(ByteBuffer(bytes: bytes[..<split]))
        while (try? parser.next()) ?? nil != nil {}
        parser.append(ByteBuffer(bytes: bytes[split...]))
        while let reply = (try? parser.next()) ?? nil {
            precondition((200...599).contains(reply.code))
            precondition(reply.lines.allSatisfy { !$0.unicodeScalars.contains { $0.value < 0x20 && $0 != "\t" || $0.value == 0x7F } })
        }
        precondition(parser.bufferCapacity <= 64 * 1024, "reply parser holds \(parser.bufferCapacity) octets")
    }

    /// The DATA reader with small limits, fed byte by byte and whole; both must agree.
    static func data(_ bytes: UnsafeRawBufferPointer) {
        func run(chunk: Int) -> (String, Bool, Int)? {
            var reader = SMTPDataReader(maximumSize: 4096, maximumLineLength: 100)
            var input = ByteBuffer()
            var text = ByteBuffer()
            var offset = 0
            while offset < bytes.count {
                let end = min(offset + chunk, bytes.count)
                input.writeBytes(bytes[offset..<end])
                offset = end
                guard var output = try? reader.read(from: &input) else { return nil }
                text.writeBuffer(&output.text)
                if output.isComplete { return (String(buffer: text), true, input.readableBytes + bytes.count - offset) }
            }
            precondition(text.readableBytes <= 4096)
            return (String(buffer: text), false, 0)
        }
        let whole = run(chunk: max(bytes.count, 1))
        let single = run(chunk: 1)
        precondition((whole == nil) == (single == nil), "byte-by-byte and whole reads disagree on errors")
        if let whole, let single, whole.1, single.1 {
            precondition(whole.0 == single.0 && whole.2 == single.2, "byte-by-byte and whole reads disagree")
        }
    }

    /// What every reply the server sends must be: lines of at most 512 octets (the 334 AUTH
    /// challenge aside, RFC 4954 §4), without control characters.
    private static func checkReply(_ reply: SMTPReply) {
        let encoded = reply.encoded
        for line in encoded.split(separator: "\r\n", omittingEmptySubsequences: false).dropLast() {
            precondition(reply.code == 334 || line.utf8.count + 2 <= 512, "reply line of \(line.utf8.count + 2) octets")
            precondition(!line.unicodeScalars.contains { $0.value < 0x20 && $0 != "\t" || $0.value == 0x7F }, "control character in a reply")
        }
    }

    /// The server state machine fed arbitrary client bytes in pieces of up to 64; each question is
    /// answered in a way the input chooses (yes, no, 421, reply-then-close), STARTTLS sometimes
    /// completes and sometimes times out. Memory — the buffer's capacity — stays within what the
    /// limits allow, and every reply is well formed.
    static func server(_ bytes: UnsafeRawBufferPointer) {
        var configuration = SMTPServerConfiguration(hostname: "fuzz.example", startTLSAvailable: true, authMechanismsWithoutTLS: ["PLAIN"])
        configuration.limits.messageSize = 10_000
        configuration.limits.recipients = 5
        configuration.extensions.insert(.binaryMIME)
        var machine = SMTPServerStateMachine(configuration: configuration)
        machine.start()
        var offset = 0
        var actions = 0
        var choice = 0
        func pick() -> Int {
            choice += 1
            return bytes.isEmpty ? 0 : Int(bytes[(choice * 7) % bytes.count]) % 16
        }
        // The longest unread remainder is an AUTH line; with one delivery and the buffer's
        // growth in powers of two, 64 KiB is ample — and far below what the input could be.
        let bound = 64 * 1024
        while offset < bytes.count, !machine.isClosed {
            let end = min(bytes.count, offset + 1 + Int(bytes[offset]) % 64)
            machine.receive(ByteBuffer(bytes: bytes[offset..<end]))
            offset = end
            while let action = machine.next() {
                actions += 1
                precondition(actions < 1_000_000, "runaway action stream")
                switch action {
                case .hello, .mail, .recipient, .data, .verify, .expand, .etrn, .messageComplete:
                    switch pick() {
                    case 0: machine.reject(SMTPReply(421, .temporarySystemError, "fuzz.example closing"))
                    case 1: machine.replyAndClose(SMTPReply(554, .deliveryNotAuthorized, "go away"))
                    case 2...5: machine.reject(SMTPReply(550, .deliveryNotAuthorized, "no"))
                    default: machine.accept()
                    }
                case .authStart(_, let response):
                    if response == nil { machine.authChallenge([1, 2, 3]) } else { machine.authSucceeded(identity: "fuzz") }
                case .authResponse:
                    machine.authFailed()
                case .startTLS:
                    if pick() == 0 { machine.timedOut() } else if pick() > 1 { machine.tlsEstablished() }
                case .send(let reply):
                    checkReply(reply)
                case .messageText, .transactionAborted, .authCancelled, .close:
                    break
                }
            }
            if machine.awaitedInput == .tlsHandshake, pick() < 8 { machine.tlsEstablished() }
            precondition(machine.misuseDescription == nil, "the fuzz driver misused the machine: \(machine.misuseDescription!)")
            precondition(machine.bufferCapacity <= bound, "the machine holds \(machine.bufferCapacity) octets")
        }
    }

    /// BDAT framing (RFC 3030): the input is read as chunks — a size byte, a flags byte (bit 0:
    /// LAST, bit 1: BINARYMIME for the next message), that many payload bytes — sent as
    /// `BDAT n [LAST]` commands in pieces the input chooses. Every chunk is answered in order,
    /// the text handed out is exactly the payload, and memory stays bounded.
    static func bdat(_ bytes: UnsafeRawBufferPointer) {
        var configuration = SMTPServerConfiguration(hostname: "fuzz.example")
        configuration.limits.messageSize = 2_000
        configuration.limits.textLineLength = 100
        configuration.extensions.insert(.binaryMIME)
        var machine = SMTPServerStateMachine(configuration: configuration)
        machine.start()
        var replies: [SMTPReply] = []
        var text: [UInt8] = []
        var completed: [[UInt8]] = []
        func drain() {
            while let action = machine.next() {
                switch action {
                case .send(let reply): checkReply(reply); replies.append(reply)
                case .mail, .recipient, .data, .hello: machine.accept()
                case .messageText(let piece): text += piece.readableBytesView
                case .messageComplete:
                    completed.append(text)
                    text = []
                    machine.accept()
                case .transactionAborted: text = []
                case .verify, .expand, .etrn, .authStart, .authResponse, .authCancelled, .startTLS, .close: break
                }
            }
        }
        machine.receive(ByteBuffer(string: "EHLO fuzz.example\r\n"))
        drain()
        var offset = 0
        var binary = false
        var expected: [UInt8] = []
        var messages: [[UInt8]] = []
        var open = false
        while offset + 2 <= bytes.count, !machine.isClosed {
            let size = Int(bytes[offset])
            let flags = bytes[offset + 1]
            offset += 2
            let payload = Array(bytes[offset..<min(bytes.count, offset + size)])
            offset += payload.count
            if !open {
                binary = flags & 2 != 0
                machine.receive(ByteBuffer(string: "MAIL FROM:<a@fuzz.example>\(binary ? " BODY=BINARYMIME" : "")\r\nRCPT TO:<b@fuzz.example>\r\n"))
                drain()
                open = true
                expected = []
            }
            let last = flags & 1 != 0 || payload.count < size
            var chunk = ByteBuffer(string: "BDAT \(payload.count)\(last ? " LAST" : "")\r\n")
            chunk.writeBytes(payload)
            // In two pieces, cut where the flags say.
            let cut = min(chunk.readableBytes, Int(flags >> 2))
            replies.removeAll()
            machine.receive(chunk.getSlice(at: 0, length: cut)!)
            drain()
            machine.receive(chunk.getSlice(at: cut, length: chunk.readableBytes - cut)!)
            drain()
            expected += payload
            // Lines end at LF, which they include (the last may be unterminated).
            let segments = expected.split(separator: 0x0A, omittingEmptySubsequences: false)
            let longest = segments.enumerated().map { $0.element.count + ($0.offset < segments.count - 1 ? 1 : 0) }.max() ?? 0
            let longLine = !binary && longest > 100
            let tooBig = expected.count > 2_000
            precondition(replies.count == 1, "one reply per chunk, got \(replies)")
            if tooBig || longLine {
                precondition(replies[0].code == 552 || replies[0].code == 554, "an oversized message got \(replies[0])")
                machine.receive(ByteBuffer(string: "RSET\r\n"))
                drain()
                open = false
            } else if last {
                precondition(replies[0].code == 250 && completed.last == expected, "the message text differs from the chunks sent")
                messages.append(expected)
                open = false
            } else {
                precondition(replies[0].code == 250 && replies[0].lines == ["\(payload.count) octets received"], "chunk answered \(replies[0])")
            }
            precondition(machine.bufferCapacity <= 8192, "the machine holds \(machine.bufferCapacity) octets")
        }
        precondition(completed.count == messages.count)
    }
}
