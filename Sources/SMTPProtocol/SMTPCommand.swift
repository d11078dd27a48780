public import NIOCore

/// A command a client sends (RFC 5321 §4.1.1 and the extensions SwiftMTA speaks), parsed from a
/// command line or encoded into one.
public enum SMTPCommand: Hashable, Sendable {
    /// `HELO domain` (RFC 5321 §4.1.1.1). The argument is kept as sent.
    case helo(String)
    /// `EHLO domain-or-address-literal` (RFC 5321 §4.1.1.1).
    case ehlo(String)
    /// `LHLO domain`: LMTP's greeting (RFC 2033 §4.1).
    case lhlo(String)
    /// `MAIL FROM:<reverse-path> [parameters]` (RFC 5321 §4.1.1.2).
    case mail(ReversePath, MailParameters)
    /// `RCPT TO:<forward-path> [parameters]` (RFC 5321 §4.1.1.3).
    case recipient(ForwardPath, RecipientParameters)
    /// `DATA` (RFC 5321 §4.1.1.4).
    case data
    /// `BDAT size [LAST]`: a chunk of `size` octets follows the command line (RFC 3030 §2).
    case bdat(size: Int, last: Bool)
    /// `RSET` (RFC 5321 §4.1.1.5).
    case reset
    /// `VRFY string` (RFC 5321 §4.1.1.6).
    case verify(String)
    /// `EXPN string` (RFC 5321 §4.1.1.7).
    case expand(String)
    /// `HELP [string]` (RFC 5321 §4.1.1.8).
    case help(String?)
    /// `NOOP [string]` (RFC 5321 §4.1.1.9).
    case noop(String?)
    /// `QUIT` (RFC 5321 §4.1.1.10).
    case quit
    /// `STARTTLS` (RFC 3207 §4).
    case startTLS
    /// `AUTH mechanism [initial-response]` (RFC 4954 §4). The initial response is decoded from
    /// base64; `=` (an empty initial response) gives an empty array.
    case auth(mechanism: String, initialResponse: [UInt8]?)
    /// `ETRN [@|#]node` (RFC 1985 §3): start the queue for a node.
    case etrn(String)

    /// The command's verb.
    public var verb: String {
        switch self {
        case .helo: "HELO"
        case .ehlo: "EHLO"
        case .lhlo: "LHLO"
        case .mail: "MAIL"
        case .recipient: "RCPT"
        case .data: "DATA"
        case .bdat: "BDAT"
        case .reset: "RSET"
        case .verify: "VRFY"
        case .expand: "EXPN"
        case .help: "HELP"
        case .noop: "NOOP"
        case .quit: "QUIT"
        case .startTLS: "STARTTLS"
        case .auth: "AUTH"
        case .etrn: "ETRN"
        }
    }

    /// Verbs of RFC 821 and later that SwiftMTA recognises but does not implement: they get 502,
    /// not 500 (RFC 5321 §4.2.4).
    static let unimplementedVerbs: Set<String> = ["TURN", "SEND", "SOML", "SAML", "ATRN", "XEXCH50", "X-EXPS"]

    /// Parses one command line, without its CRLF.
    ///
    /// - Throws: ``SMTPCommandError`` for a line that is not a valid command: control or invalid
    ///   UTF-8 bytes, an unknown verb, a missing or malformed argument or parameter. The error
    ///   carries the reply to send.
    public static func parse(_ line: ByteBuffer) throws(SMTPCommandError) -> SMTPCommand {
        let bytes = line.readableBytesView
        for byte in bytes where byte < 0x20 || byte == 0x7F {
            throw SMTPCommandError(.invalidCharacter, "command line contains a control character")
        }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw SMTPCommandError(.invalidCharacter, "command line is not valid UTF-8")
        }
        return try parse(Substring(text))
    }

    /// Parses one command line given as text, without its CRLF.
    public static func parse(_ text: Substring) throws(SMTPCommandError) -> SMTPCommand {
        let verbEnd = text.firstIndex(of: " ") ?? text.endIndex
        guard text[..<verbEnd].utf8.allSatisfy({ $0 < 0x80 }) else {
            throw SMTPCommandError(.unrecognizedCommand, "command unrecognized")
        }
        // Verbs are ASCII (RFC 5321 §2.4): fold ASCII letters only, so `quıt` is no QUIT.
        let verb = SMTPCharacterClass.asciiUppercased(text[..<verbEnd])
        let argument = text[verbEnd...].drop { $0 == " " }.trimmingTrailingSpaces
        switch verb {
        case "HELO", "EHLO", "LHLO":
            guard !argument.isEmpty else {
                throw SMTPCommandError(.missingArgument, "\(verb) requires a domain address")
            }
            guard !argument.contains(" ") else {
                throw SMTPCommandError(.invalidArgument, "\(verb) takes exactly one argument")
            }
            let domain = String(argument)
            return verb == "HELO" ? .helo(domain) : verb == "EHLO" ? .ehlo(domain) : .lhlo(domain)
        case "MAIL":
            guard let pathText = argument.droppingPrefix(caseInsensitive: "FROM:") else {
                throw SMTPCommandError(.invalidArgument, "syntax: MAIL FROM:<address>")
            }
            let (path, rest) = splitPath(pathText.drop { $0 == " " })
            guard !path.isEmpty else {
                throw SMTPCommandError(.badSenderAddress, "syntax: MAIL FROM:<address>")
            }
            var parser = SMTPAddressParser(path)
            let parsed: (mailbox: Mailbox?, route: [String], postmaster: Bool)
            do {
                parsed = try parser.parsePath(allowNull: true)
            } catch {
                throw SMTPCommandError(.badSenderAddress, "bad sender address: \(error.message)")
            }
            guard !parsed.postmaster else {
                throw SMTPCommandError(.badSenderAddress, "bad sender address: <Postmaster> needs a domain")
            }
            let parameters = try MailParameters(parsing: ESMTPParameter.parseList(rest))
            return .mail(ReversePath(mailbox: parsed.mailbox, validatedRoute: parsed.route), parameters)
        case "RCPT":
            guard let pathText = argument.droppingPrefix(caseInsensitive: "TO:") else {
                throw SMTPCommandError(.invalidArgument, "syntax: RCPT TO:<address>")
            }
            let (path, rest) = splitPath(pathText.drop { $0 == " " })
            guard !path.isEmpty else {
                throw SMTPCommandError(.badRecipientAddress, "syntax: RCPT TO:<address>")
            }
            var parser = SMTPAddressParser(path)
            let parsed: (mailbox: Mailbox?, route: [String], postmaster: Bool)
            do {
                parsed = try parser.parsePath(allowNull: false)
            } catch {
                throw SMTPCommandError(.badRecipientAddress, "bad recipient address: \(error.message)")
            }
            let parameters = try RecipientParameters(parsing: ESMTPParameter.parseList(rest))
            let recipient: ForwardPath.Recipient = parsed.postmaster ? .postmaster : .mailbox(parsed.mailbox!)
            return .recipient(ForwardPath(recipient, validatedRoute: parsed.route), parameters)
        case "DATA", "RSET", "QUIT", "STARTTLS":
            guard argument.isEmpty else {
                throw SMTPCommandError(.unexpectedArgument, "\(verb) takes no argument")
            }
            switch verb {
            case "DATA": return .data
            case "RSET": return .reset
            case "QUIT": return .quit
            default: return .startTLS
            }
        case "BDAT":
            let words = argument.split(separator: " ")
            guard (1...2).contains(words.count), (1...18).contains(words[0].count),
                  words[0].allSatisfy({ $0.isASCII && $0.isNumber }), let size = Int(words[0])
            else {
                throw SMTPCommandError(.invalidArgument, "syntax: BDAT size [LAST]")
            }
            if words.count == 2 {
                guard SMTPCharacterClass.asciiCaseInsensitiveEquals(words[1], "LAST") else {
                    throw SMTPCommandError(.invalidArgument, "syntax: BDAT size [LAST]")
                }
                return .bdat(size: size, last: true)
            }
            return .bdat(size: size, last: false)
        case "VRFY", "EXPN":
            guard !argument.isEmpty else {
                throw SMTPCommandError(.missingArgument, "\(verb) requires an argument")
            }
            return verb == "VRFY" ? .verify(String(argument)) : .expand(String(argument))
        case "HELP":
            return .help(argument.isEmpty ? nil : String(argument))
        case "NOOP":
            return .noop(argument.isEmpty ? nil : String(argument))
        case "AUTH":
            let words = argument.split(separator: " ")
            guard (1...2).contains(words.count) else {
                throw SMTPCommandError(.invalidArgument, "syntax: AUTH mechanism [initial-response]")
            }
            // RFC 4422 §3.1: sasl-mech = 1*20 of upper-case letters, digits, "-" and "_" (ASCII,
            // so only ASCII letters are folded).
            let mechanism = SMTPCharacterClass.asciiUppercased(words[0])
            guard (1...20).contains(mechanism.unicodeScalars.count),
                  mechanism.unicodeScalars.allSatisfy({ ("A"..."Z").contains($0) || ("0"..."9").contains($0) || $0 == "-" || $0 == "_" })
            else {
                throw SMTPCommandError(.invalidArgument, "malformed SASL mechanism name")
            }
            guard words.count == 2 else { return .auth(mechanism: mechanism, initialResponse: nil) }
            if words[1] == "=" { return .auth(mechanism: mechanism, initialResponse: []) }
            guard let decoded = Base64.decode(words[1]) else {
                throw SMTPCommandError(.invalidBase64, "initial response is not valid base64")
            }
            return .auth(mechanism: mechanism, initialResponse: decoded)
        case "ETRN":
            guard !argument.isEmpty, !argument.contains(" ") else {
                throw SMTPCommandError(.missingArgument, "syntax: ETRN [@|#]node")
            }
            return .etrn(String(argument))
        default:
            if unimplementedVerbs.contains(verb) {
                throw SMTPCommandError(.notImplemented, "command not implemented")
            }
            throw SMTPCommandError(.unrecognizedCommand, "command unrecognized")
        }
    }

    /// Splits `<path> params` (or `path params`) at the end of the path, honouring quoted strings
    /// and address literals (whose `dcontent` may hold `>`, RFC 5321 §4.1.3) inside angle brackets.
    static func splitPath(_ text: Substring) -> (path: Substring, rest: Substring) {
        guard text.first == "<" else {
            let end = text.firstIndex(of: " ") ?? text.endIndex
            return (text[..<end], text[end...])
        }
        var index = text.startIndex
        var quoted = false
        var literal = false
        while index < text.endIndex {
            let character = text[index]
            if quoted, character == "\\" {
                index = text.index(after: index)
                if index < text.endIndex { index = text.index(after: index) }
                continue
            }
            if !literal, character == "\"" { quoted.toggle() }
            if !quoted, character == "[" { literal = true }
            if !quoted, character == "]" { literal = false }
            if !quoted, !literal, character == ">" {
                let end = text.index(after: index)
                return (text[..<end], text[end...])
            }
            index = text.index(after: index)
        }
        return (text, text[text.endIndex...])
    }

    /// The command as sent on the wire, with its CRLF.
    ///
    /// Paths and parameters are typed values that cannot hold a line break. The free-text
    /// arguments (HELO/EHLO/LHLO's domain, VRFY, EXPN, HELP, NOOP and ETRN text, the AUTH
    /// mechanism) are written with every control character as `?`, so no command can end early
    /// and carry another one behind it.
    public func encode(into buffer: inout ByteBuffer) {
        switch self {
        case .helo(let domain), .ehlo(let domain), .lhlo(let domain):
            buffer.writeString("\(verb) \(Self.text(domain))")
        case .mail(let path, let parameters):
            buffer.writeString("MAIL FROM:\(path)\(parameters.encoded)")
        case .recipient(let path, let parameters):
            buffer.writeString("RCPT TO:\(path)\(parameters.encoded)")
        case .data, .reset, .quit, .startTLS:
            buffer.writeString(verb)
        case .bdat(let size, let last):
            buffer.writeString(last ? "BDAT \(size) LAST" : "BDAT \(size)")
        case .verify(let text), .expand(let text), .etrn(let text):
            buffer.writeString("\(verb) \(Self.text(text))")
        case .help(let text), .noop(let text):
            buffer.writeString(text.map { "\(verb) \(Self.text($0))" } ?? verb)
        case .auth(let mechanism, let initialResponse):
            switch initialResponse {
            case nil: buffer.writeString("AUTH \(Self.text(mechanism))")
            case let response? where response.isEmpty: buffer.writeString("AUTH \(Self.text(mechanism)) =")
            case let response?: buffer.writeString("AUTH \(Self.text(mechanism)) \(Base64.encode(response))")
            }
        }
        buffer.writeStaticString("\r\n")
    }

    /// A free-text argument with its control characters (CR, LF, NUL, …) as `?`.
    private static func text(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: SMTPCharacterClass.isControl) else { return text }
        return String(text.unicodeScalars.map { SMTPCharacterClass.isControl($0) ? "?" : Character($0) })
    }

    /// The command line as text, with its CRLF.
    public var encoded: String {
        var buffer = ByteBuffer()
        encode(into: &buffer)
        return String(buffer: buffer)
    }
}

extension Substring {
    var trimmingTrailingSpaces: Substring {
        var copy = self
        while copy.last == " " { copy.removeLast() }
        return copy
    }

    /// The text after `prefix` (an ASCII keyword such as `FROM:`, compared without ASCII case).
    func droppingPrefix(caseInsensitive prefix: String) -> Substring? {
        let head = unicodeScalars.prefix(prefix.unicodeScalars.count)
        guard SMTPCharacterClass.asciiCaseInsensitiveEquals(String(head), prefix) else { return nil }
        return self[head.endIndex...]
    }
}
