import Foundation
import NIOCore
import SMTPProtocol

/// Replays a golden client transcript through ``SMTPClientStateMachine`` and renders what the
/// machine did in the same form, to be compared with the file.
///
/// One item per line:
/// - `S: text` — the server sends `text` and CRLF. Consecutive `S:`/`R:` lines arrive as one read.
/// - `R: text` — the server sends raw bytes, with escapes `\r`, `\n`, `\\` and `\xNN`.
/// - `H: text` — the server sends `text` and CRLF while the TLS handshake runs (after the machine
///   asked for STARTTLS and before the driver says it is done).
/// - `C: line` — a command the client wrote; `T: text` — text it wrote as it is (escaped).
/// - `A: action` — what else the machine asked of its driver; `E: error` — a call it refused;
///   `=: fact` — a fact the transcript asked for.
/// - `!: call` — a call from the driver (see ``call(_:)``).
/// - `@key value` — configuration; `#` starts a comment.
struct ClientTranscriptRunner {
    private enum Item {
        case receive(ByteBuffer, duringHandshake: Bool, lines: [String])
        case call(String)
    }

    private var configuration = SMTPClientStateMachine.Configuration(hostname: "client.example", tlsPolicy: .never)
    private var items: [Item] = []
    /// The transcript without comments and directives: what a replay must reproduce.
    private(set) var expected: [String] = []

    init(text: String) throws {
        var expected: [String] = []
        var items: [Item] = []
        var pending: (ByteBuffer, Bool, [String])?
        func flush() {
            if let (bytes, handshake, lines) = pending { items.append(.receive(bytes, duringHandshake: handshake, lines: lines)) }
            pending = nil
        }
        for rawLine in text.split(separator: "\n", omittingEmptySubsequences: false) {
            let line = String(rawLine)
            if line.isEmpty || line.hasPrefix("#") { continue }
            if line.hasPrefix("@") {
                try apply(String(line.dropFirst()))
                continue
            }
            guard line.count >= 3, line.dropFirst().hasPrefix(": ") || line.count == 2 else {
                throw TranscriptError("unreadable transcript line: \(line)")
            }
            let tag = line.first!
            let body = String(line.dropFirst(3))
            expected.append(line)
            switch tag {
            case "S", "R", "H":
                var bytes = tag == "R" ? try Self.unescape(body) : ByteBuffer(string: body + "\r\n")
                let handshake = tag == "H"
                if var current = pending, current.1 == handshake {
                    current.0.writeBuffer(&bytes)
                    current.2.append(line)
                    pending = current
                } else {
                    flush()
                    pending = (bytes, handshake, [line])
                }
            case "!":
                flush()
                items.append(.call(body))
            case "C", "T", "A", "E", "=":
                flush()
            default:
                throw TranscriptError("unknown transcript tag in: \(line)")
            }
        }
        flush()
        self.expected = expected
        self.items = items
    }

    private mutating func apply(_ directive: String) throws {
        let words = directive.split(separator: " ").map(String.init)
        switch words[0] {
        case "tls": configuration.tlsPolicy = words[1] == "required" ? .required : words[1] == "opportunistic" ? .opportunistic : .never
        case "auth": configuration.wantsAuthentication = true
        case "chunking": configuration.prefersChunking = true
        case "chunk-size": configuration.chunkSize = Int(words[1])!
        case "lmtp": configuration.dialect = .lmtp
        default: throw TranscriptError("unknown directive @\(directive)")
        }
    }

    /// Replays the transcript and renders the session.
    func replay() -> [String] {
        var machine = SMTPClientStateMachine(configuration: configuration)
        var output: [String] = []
        func drain() {
            while let action = machine.next() {
                output.append(contentsOf: Self.render(action))
            }
        }
        for item in items {
            switch item {
            case .receive(let bytes, _, let lines):
                output.append(contentsOf: lines)
                machine.receive(bytes)
                drain()
            case .call(let text):
                output.append("!: \(text)")
                do {
                    if let fact = try Self.call(text, on: &machine) { output.append("=: \(fact)") }
                } catch let error as SMTPClientCallError {
                    output.append("E: \(error.kind): \(error.message)\(error.reply.map { " [\($0)]" } ?? "")")
                } catch {
                    output.append("E: \(error)")
                }
                drain()
            }
        }
        return output
    }

    /// A driver call: `start`, `send MAIL FROM:<…> PARAMS | RCPT TO:<…> PARAMS | …`, `text TEXT`
    /// (escaped), `end`, `tls-established`, `tls-failed REASON`, `auth MECHANISM [INITIAL]`,
    /// `skip-auth`, `respond TEXT`, `cancel-auth`, `reset`, `quit`, `timed-out`,
    /// `connection-closed`, and the facts `discarded` (octets dropped around STARTTLS) and `stage`.
    private static func call(_ text: String, on machine: inout SMTPClientStateMachine) throws -> String? {
        let verb = text.prefix { $0 != " " }
        let argument = String(text.dropFirst(verb.count).drop { $0 == " " })
        switch verb {
        case "start": try machine.start()
        case "send":
            let commands = try argument.split(separator: "|").map { try SMTPCommand.parse(Substring($0.trimmingCharacters(in: .whitespaces))) }
            guard case .mail(let path, let parameters)? = commands.first else { throw TranscriptError("send needs MAIL first") }
            let recipients = commands.dropFirst().compactMap { command -> SMTPEnvelope.Recipient? in
                guard case .recipient(let path, let parameters) = command else { return nil }
                return SMTPEnvelope.Recipient(path, parameters: parameters)
            }
            let adjustments = try machine.send(SMTPEnvelope(reversePath: path, parameters: parameters, recipients: recipients))
            return adjustments.isEmpty ? nil : "adjusted \(describe(adjustments))"
        case "text": try machine.messageText(try unescape(argument))
        case "end": try machine.endMessage()
        case "tls-established": try machine.tlsEstablished()
        case "tls-failed": try machine.tlsFailed(argument)
        case "auth":
            let parts = argument.split(separator: " ")
            try machine.startAuthentication(mechanism: String(parts[0]), initialResponse: parts.count > 1 ? Array(parts[1].utf8) : nil)
        case "skip-auth": try machine.skipAuthentication()
        case "respond": try machine.authenticationResponse(Array(argument.utf8))
        case "cancel-auth": try machine.cancelAuthentication()
        case "reset": try machine.reset()
        case "quit": try machine.quit()
        case "timed-out": machine.timedOut()
        case "connection-closed": machine.connectionClosed()
        case "discarded": return "discarded \(machine.discardedPlaintextOctets)"
        case "stage": return "stage \(machine.stage)\(machine.awaitedReply.map { ", awaiting \($0) (\($0.minimumTimeout))" } ?? "")"
        default: throw TranscriptError("unknown call \(verb)")
        }
        return nil
    }

    private static func describe(_ adjustments: SMTPClientStateMachine.ParameterAdjustments) -> String {
        var names: [String] = []
        if adjustments.contains(.sizeDropped) { names.append("size-dropped") }
        if adjustments.contains(.bodyDropped) { names.append("body-dropped") }
        if adjustments.contains(.smtpUTF8Added) { names.append("smtputf8-added") }
        if adjustments.contains(.smtpUTF8Dropped) { names.append("smtputf8-dropped") }
        if adjustments.contains(.dsnDropped) { names.append("dsn-dropped") }
        if adjustments.contains(.authDropped) { names.append("auth-dropped") }
        return names.joined(separator: ",")
    }

    private static func render(_ action: SMTPClientStateMachine.Action) -> [String] {
        switch action {
        case .send(let command):
            return ["C: " + command.encoded.dropLast()]
        case .sendText(let text):
            return ["T: " + escape(bytes: Array(text.readableBytesView))]
        case .startTLS:
            return ["A: starttls"]
        case .authenticate(let offered):
            return ["A: authenticate \(offered.joined(separator: " "))"]
        case .authenticationChallenge(let challenge):
            return ["A: challenge \(escape(String(decoding: challenge, as: UTF8.self)))"]
        case .ready(let capabilities):
            return ["A: ready \(capabilities.extensions.map { ([$0.keyword.name] + $0.parameters).joined(separator: " ") }.joined(separator: ", "))"]
        case .sendMessage:
            return ["A: send-message"]
        case .abandonMessage(let reply):
            return ["A: abandon-message \(reply)"]
        case .transactionComplete(let result):
            let recipients = result.recipientReplies.indices.map { "\(result.outcome(forRecipientAt: $0).code)" }
            return ["A: complete mail=\(result.mailReply.code) recipients=\(recipients.joined(separator: ","))\(result.messageReply.map { " message=\($0.code)" } ?? "")"]
        case .failed(let error):
            return ["A: failed \(error.kind) at \(error.stage)\(error.reply.map { ": \($0)" } ?? "")"]
        case .close:
            return ["A: close"]
        }
    }

    static func escape(_ text: String) -> String {
        var result = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\r": result += "\\r"
            case "\n": result += "\\n"
            case "\\": result += "\\\\"
            default: result.unicodeScalars.append(scalar)
            }
        }
        return result
    }

    /// Octets as `T:` lines show them: printable ASCII as it is, `\r`, `\n`, `\\`, and `\xNN`.
    static func escape(bytes: [UInt8]) -> String {
        var result = ""
        for byte in bytes {
            switch byte {
            case 13: result += "\\r"
            case 10: result += "\\n"
            case UInt8(ascii: "\\"): result += "\\\\"
            case 0x20..<0x7F: result.unicodeScalars.append(Unicode.Scalar(byte))
            default: result += "\\x" + (byte < 16 ? "0" : "") + String(byte, radix: 16)
            }
        }
        return result
    }

    static func unescape(_ text: String) throws -> ByteBuffer {
        var buffer = ByteBuffer()
        var iterator = Array(text.utf8).makeIterator()
        while let byte = iterator.next() {
            guard byte == UInt8(ascii: "\\") else {
                buffer.writeInteger(byte)
                continue
            }
            switch iterator.next() {
            case UInt8(ascii: "r"): buffer.writeInteger(UInt8(13))
            case UInt8(ascii: "n"): buffer.writeInteger(UInt8(10))
            case UInt8(ascii: "\\"): buffer.writeInteger(UInt8(ascii: "\\"))
            case UInt8(ascii: "x"):
                guard let high = iterator.next(), let low = iterator.next(),
                      let value = UInt8(String(decoding: [high, low], as: UTF8.self), radix: 16)
                else { throw TranscriptError("bad \\x escape in \(text)") }
                buffer.writeInteger(value)
            default:
                throw TranscriptError("bad escape in \(text)")
            }
        }
        return buffer
    }
}

struct TranscriptError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
