import Foundation
import NIOCore
import SMTPProtocol

/// Replays a golden session transcript through ``SMTPServerStateMachine`` and renders what it
/// did as a transcript of the same form, to be compared with the file.
///
/// Format, one item per line:
/// - `C: text` — the client sends `text` followed by CRLF. Consecutive C:/R: lines go out as one
///   write (a pipelined group); any other line between them separates writes.
/// - `R: text` — the client sends `text` raw, with escapes `\r`, `\n`, `\t`, `\\`, and `\x..`.
/// - `S: line` — a reply line the server sends.
/// - `A: action` — something the machine asked of its caller (a policy question, message text,
///   STARTTLS, close).
/// - `F: flush` — ``SMTPServerStateMachine/next()`` returned `nil` with replies written since the
///   last flush: the point where a driver flushes them (RFC 2920 §3.2). `A: close` and
///   `A: starttls` flush too and are not followed by one. Byte-by-byte replays, whose flush points
///   differ by nature, ignore these lines.
/// - `E: event` — the driver tells the machine something: `tls-established`, `tls-failed`,
///   `timeout`. In a transcript with `E:` lines, STARTTLS waits for `E: tls-established` (and
///   bytes sent in between arrive during the handshake); otherwise TLS is established at once.
/// - `@name args` — set-up and policy for the harness (see ``Directives``); `#` starts a comment.
struct TranscriptRunner {
    /// What the harness answers when the machine asks.
    struct Directives {
        var configuration = SMTPServerConfiguration(hostname: "mx.example.test", checkHello: false)
        var rejectMail: [String: SMTPReply] = [:]
        var rejectRecipient: [String: SMTPReply] = [:]
        var rejectData: SMTPReply?
        var messageReply = SMTPReply(250, .success, "Message accepted for delivery")
        var lmtpReplies: [SMTPReply]?
        var authAccept: [UInt8]?
        var authChallenges: [[UInt8]] = []
        var greetingRejection: SMTPReply?
        /// A reply-then-close answer for the sender with this path.
        var closeAtMail: [String: SMTPReply] = [:]
        /// The meaning depends on how the bytes arrive (STARTTLS injection): no byte-by-byte replay.
        var wholeWritesOnly = false
    }

    enum Item {
        /// Bytes to send, and the transcript line that gave them.
        case send(String, line: String)
        case expect(String)
        case directive(String)
        /// An event from the driver (`E:`), and the transcript line.
        case event(String, line: String)
    }

    let items: [Item]
    var directives = Directives()
    /// The transcript's lines, without comments and directives: what a replay must reproduce.
    let expected: [String]

    init(text: String) throws {
        var items: [Item] = []
        var expected: [String] = []
        for rawLine in text.split(separator: "\n", omittingEmptySubsequences: false) {
            let line = String(rawLine)
            if line.isEmpty || line.hasPrefix("#") { continue }
            if line.hasPrefix("@") {
                items.append(.directive(String(line.dropFirst())))
                continue
            }
            guard line.count >= 3, [Character(":")].contains(line[line.index(line.startIndex, offsetBy: 1)]) else {
                throw TranscriptError("unreadable transcript line: \(line)")
            }
            let tag = line.first!
            let body = String(line.dropFirst(3))
            switch tag {
            case "C": items.append(.send(body + "\r\n", line: line)); expected.append(line)
            case "R": items.append(.send(try Self.unescape(body), line: line)); expected.append(line)
            case "S", "A", "F": items.append(.expect(line)); expected.append(line)
            case "E": items.append(.event(body, line: line)); expected.append(line)
            default: throw TranscriptError("unknown transcript tag in: \(line)")
            }
        }
        self.items = items
        self.expected = expected
        for case .directive(let directive) in items {
            try apply(directive)
        }
    }

    private mutating func apply(_ directive: String) throws {
        let words = directive.split(separator: " ", maxSplits: 2).map(String.init)
        func reply(_ text: String) throws -> SMTPReply {
            let parts = text.split(separator: " ", maxSplits: 2).map(String.init)
            guard parts.count == 3, let code = Int(parts[0]), let enhanced = EnhancedStatusCode(Substring(parts[1])) else {
                throw TranscriptError("a reply must be CODE X.Y.Z text: \(text)")
            }
            return SMTPReply(code, enhanced, parts[2])
        }
        switch words[0] {
        case "lmtp": directives.configuration.dialect = .lmtp
        case "recipients": directives.configuration.limits.recipients = Int(words[1])!
        case "errors": directives.configuration.limits.errorsBeforeDisconnect = Int(words[1])!
        case "size": directives.configuration.limits.messageSize = Int(words[1])!
        case "line-length": directives.configuration.limits.commandLineLength = Int(words[1])!
        case "text-line-length": directives.configuration.limits.textLineLength = Int(words[1])!
        case "no-hello-required": directives.configuration.requireHello = false
        case "check-hello": directives.configuration.checkHello = true
        case "no-pipelining": directives.configuration.extensions.remove(.pipelining)
        case "no-chunking": directives.configuration.extensions.remove(.chunking)
        case "no-dsn": directives.configuration.extensions.remove(.dsn)
        case "etrn": directives.configuration.extensions.insert(.etrn)
        case "binarymime": directives.configuration.extensions.insert(.binaryMIME)
        case "starttls": directives.configuration.startTLSAvailable = true
        case "auth-without-tls": directives.configuration.authMechanismsWithoutTLS = words[1].split(separator: ",").map(String.init)
        case "auth-with-tls": directives.configuration.authMechanismsWithTLS = words[1].split(separator: ",").map(String.init)
        case "auth-accept": directives.authAccept = Array(words[1].utf8).map { $0 == UInt8(ascii: "|") ? 0 : $0 }
        case "auth-challenge": directives.authChallenges.append(Array(words[1].utf8))
        case "reject-mail": directives.rejectMail[words[1]] = try reply(words[2])
        case "reject-rcpt": directives.rejectRecipient[words[1]] = try reply(words[2])
        case "reject-data": directives.rejectData = try reply(words.dropFirst().joined(separator: " "))
        case "message-reply": directives.messageReply = try reply(words.dropFirst().joined(separator: " "))
        case "lmtp-replies":
            directives.lmtpReplies = try directive.dropFirst("lmtp-replies ".count).split(separator: "|").map { try reply($0.trimmingCharacters(in: .whitespaces)) }
        case "whole-writes-only": directives.wholeWritesOnly = true
        case "reject-greeting": directives.greetingRejection = try reply(words.dropFirst().joined(separator: " "))
        case "close-at-mail": directives.closeAtMail[words[1]] = try reply(words[2])
        case "size-parameter-only": directives.configuration.extensions = [.pipelining]
        case "auth-offered": directives.configuration.authMechanismsWithoutTLS = ["PLAIN"]
        default: throw TranscriptError("unknown directive @\(directive)")
        }
    }

    /// Replays the transcript, feeding each client write whole (or byte by byte), and renders the
    /// session as transcript lines.
    func replay(byteByByte: Bool) -> [String] {
        var machine = SMTPServerStateMachine(configuration: directives.configuration)
        var output: [String] = []
        var text = ""
        var challenges = directives.authChallenges
        var unflushed = false
        let waitsForHandshake = items.contains { if case .event = $0 { return true } else { return false } }
        func flushText() {
            if !text.isEmpty { output.append("A: text \(Self.escape(text))"); text = "" }
        }
        func drain() {
            while let action = machine.next() {
                switch action {
                case .messageText: break
                case .transactionAborted: text = ""  // the caller throws stored text away
                default: flushText()
                }
                switch action {
                case .send(let reply):
                    for line in reply.encoded.split(separator: "\r\n") { output.append("S: \(line)") }
                    unflushed = true
                case .hello(let hello):
                    output.append("A: hello \(hello.kind) \(hello.domain)")
                    machine.accept()
                case .mail(let path, let parameters):
                    output.append("A: mail \(path)\(parameters.keywords.isEmpty ? "" : " " + parameters.keywords.joined(separator: ","))")
                    if let rejection = directives.rejectMail[path.description] {
                        machine.reject(rejection)
                    } else if let last = directives.closeAtMail[path.description] {
                        machine.replyAndClose(last)
                    } else {
                        machine.accept()
                    }
                case .recipient(let path, _):
                    output.append("A: rcpt \(path)")
                    if let rejection = directives.rejectRecipient[path.description] { machine.reject(rejection) } else { machine.accept() }
                case .data:
                    output.append("A: data")
                    if let rejection = directives.rejectData { machine.reject(rejection) } else { machine.accept() }
                case .messageText(let buffer):
                    text += String(buffer: buffer)
                case .messageComplete:
                    output.append("A: complete")
                    if let replies = directives.lmtpReplies {
                        machine.finishMessage(replies: replies)
                    } else {
                        machine.accept(directives.messageReply)
                    }
                case .transactionAborted:
                    output.append("A: aborted")
                case .verify(let argument):
                    output.append("A: vrfy \(argument)")
                    machine.accept()
                case .expand(let argument):
                    output.append("A: expn \(argument)")
                    machine.reject(SMTPReply(502, EnhancedStatusCode(5, 7, 0), "Sorry, we do not allow this operation"))
                case .etrn(let node):
                    output.append("A: etrn \(node)")
                    machine.accept()
                case .authStart(let mechanism, let initialResponse):
                    output.append("A: auth-start \(mechanism) \(initialResponse.map { Self.escape(String(decoding: $0, as: UTF8.self)) } ?? "-")")
                    answerAuth(initialResponse)
                case .authResponse(let response):
                    output.append("A: auth-response \(Self.escape(String(decoding: response, as: UTF8.self)))")
                    answerAuth(response)
                case .authCancelled:
                    output.append("A: auth-cancelled")
                case .startTLS(let discarded):
                    output.append("A: starttls discarded=\(discarded)")
                    unflushed = false
                    if !waitsForHandshake { machine.tlsEstablished() }
                case .close:
                    output.append("A: close")
                    unflushed = false
                }
            }
            if unflushed {
                output.append("F: flush")
                unflushed = false
            }
        }
        func answerAuth(_ response: [UInt8]?) {
            guard let response else {
                return machine.authChallenge(challenges.isEmpty ? [] : challenges.removeFirst())
            }
            if response == directives.authAccept {
                machine.authSucceeded(identity: "user")
            } else if !challenges.isEmpty {
                machine.authChallenge(challenges.removeFirst())
            } else {
                machine.authFailed()
            }
        }

        machine.start(rejection: directives.greetingRejection)
        drain()
        var index = 0
        while index < items.count {
            if case .event(let event, let line) = items[index] {
                output.append(line)
                switch event {
                case "tls-established":
                    machine.tlsEstablished()
                    output.append("A: plaintext discarded=\(machine.discardedPlaintextOctets)")
                case "tls-failed": machine.tlsFailed()
                case "timeout":
                    output.append("A: awaiting \(machine.awaitedInput.map { "\($0)" } ?? "nothing")")
                    machine.timedOut()
                default: output.append("A: unknown event \(event)")
                }
                drain()
                index += 1
                continue
            }
            guard case .send = items[index] else {
                index += 1
                continue
            }
            var group: [UInt8] = []
            while index < items.count, case .send(let bytes, let line) = items[index] {
                output.append(line)
                group += Array(bytes.utf8)
                index += 1
            }
            if byteByByte {
                for byte in group {
                    machine.receive(ByteBuffer(bytes: [byte]))
                    drain()
                }
            } else {
                machine.receive(ByteBuffer(bytes: group))
                drain()
            }
        }
        flushText()
        return output
    }

    static func escape(_ text: String) -> String {
        var result = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\r": result += "\\r"
            case "\n": result += "\\n"
            case "\t": result += "\\t"
            case "\\": result += "\\\\"
            default:
                if scalar.value < 0x20 || scalar.value == 0x7F {
                    result += "\\x" + String(format: "%02x", scalar.value)
                } else {
                    result.unicodeScalars.append(scalar)
                }
            }
        }
        return result
    }

    static func unescape(_ text: String) throws -> String {
        var result = ""
        var iterator = text.unicodeScalars.makeIterator()
        while let scalar = iterator.next() {
            guard scalar == "\\" else {
                result.unicodeScalars.append(scalar)
                continue
            }
            switch iterator.next() {
            case "r": result += "\r"
            case "n": result += "\n"
            case "t": result += "\t"
            case "\\": result += "\\"
            case "x":
                guard let high = iterator.next(), let low = iterator.next(),
                      let value = UInt8(String([Character(high), Character(low)]), radix: 16) else {
                    throw TranscriptError("bad \\x escape in \(text)")
                }
                result.unicodeScalars.append(Unicode.Scalar(value))
            default: throw TranscriptError("bad escape in \(text)")
            }
        }
        return result
    }
}

struct TranscriptError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
