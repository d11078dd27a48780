public import NIOCore

/// A server reply: a three-digit code, an optional enhanced status code, and one or more lines of
/// text (RFC 5321 §4.2; enhanced codes RFC 2034, RFC 3463).
///
/// Encoded, every line but the last carries `-` after the code; every line repeats the enhanced
/// code when there is one:
///
/// ```
/// 250-mx.example.test Hello
/// 250-PIPELINING
/// 250 8BITMIME
/// ```
///
/// A reply can never carry a line break or control character of its own, and no encoded line is
/// longer than RFC 5321 §4.5.3.1.5 allows (512 octets with the code and CRLF): the text lines are
/// fixed when the reply is made. The plain initializers, for text written in code, split text at
/// CR and LF and show other control characters as `?`, and break an overlong line in several;
/// ``init(validating:_:lines:)``, for text that comes from outside (a map, a configuration file),
/// refuses such text with an error instead.
public struct SMTPReply: Hashable, Sendable, CustomStringConvertible {
    /// The longest encoded reply line, CRLF included (RFC 5321 §4.5.3.1.5).
    public static let maximumLineLength = 512

    /// The reply code, 200–599 (RFC 5321 §4.2.1 uses 2yz–5yz; 1yz is not used by SMTP).
    public let code: Int
    /// The enhanced status code, shown after the reply code on each line.
    public let enhancedCode: EnhancedStatusCode?
    /// The text lines; at least one (possibly empty). They hold no control character but HTAB, and
    /// each fits in ``maximumLineLength`` once encoded.
    public let lines: [String]

    /// Makes a one-line reply (longer text is broken into several lines).
    public init(_ code: Int, _ enhancedCode: EnhancedStatusCode?, _ text: String) {
        self.init(code, enhancedCode, lines: [text])
    }

    /// Makes a one-line reply without an enhanced status code (the greeting, EHLO's first line).
    public init(_ code: Int, _ text: String) {
        self.init(code, nil, lines: [text])
    }

    /// Makes a multi-line reply. Text is split at any CR or LF it holds (so it can never inject a
    /// reply line of its own), other control characters become `?`, and a line too long for RFC
    /// 5321 §4.5.3.1.5 is broken into several.
    public init(_ code: Int, _ enhancedCode: EnhancedStatusCode? = nil, lines: [String]) {
        self.init(code, enhancedCode, sanitizing: lines, wrap: true)
    }

    /// Makes a reply from text that comes from outside the program (a map's `ERROR:` value, a
    /// configuration file).
    ///
    /// - Throws: ``SMTPReplyError`` when the code is not 2yz–5yz (RFC 5321 §4.2.1), the enhanced
    ///   code's class differs from the code's (RFC 3463 §2), or a line holds a control character
    ///   other than HTAB (CR, LF and NUL would inject reply lines). Lines too long for RFC 5321
    ///   §4.5.3.1.5 are broken into several, as with the plain initializers.
    public init(validating code: Int, _ enhancedCode: EnhancedStatusCode?, lines: [String]) throws(SMTPReplyError) {
        guard (200...599).contains(code), (0...5).contains(code / 10 % 10) else {
            throw SMTPReplyError("reply code \(code) is not 2yz to 5yz (RFC 5321 §4.2.1)")
        }
        if let enhancedCode, enhancedCode.statusClass != code / 100 {
            throw SMTPReplyError("enhanced status code \(enhancedCode) does not match reply code \(code) (RFC 3463 §2)")
        }
        for line in lines {
            if let bad = line.unicodeScalars.first(where: { SMTPCharacterClass.isControl($0) && $0 != "\t" }) {
                throw SMTPReplyError("reply text holds the control character U+\(String(bad.value, radix: 16, uppercase: true))")
            }
        }
        self.init(code, enhancedCode, sanitizing: lines, wrap: true)
    }

    /// A reply as read from a server: sanitized, but its lines are kept as long as they came (the
    /// reader has its own limit, ``SMTPLimits/replyLineLength``).
    init(unwrapped code: Int, _ enhancedCode: EnhancedStatusCode?, lines: [String]) {
        self.init(code, enhancedCode, sanitizing: lines, wrap: false)
    }

    private init(_ code: Int, _ enhancedCode: EnhancedStatusCode?, sanitizing lines: [String], wrap: Bool) {
        self.code = code
        self.enhancedCode = enhancedCode
        var result: [String] = []
        // The octets a line's text may take: the line less the code, its separator, the enhanced
        // code with its space, and CRLF.
        let room = Self.maximumLineLength - 4 - (enhancedCode.map { $0.description.utf8.count + 1 } ?? 0) - 2
        for line in lines {
            for piece in Self.sanitized(line) {
                if wrap { result += Self.wrapped(piece, room: room) } else { result.append(piece) }
            }
        }
        self.lines = result.isEmpty ? [""] : result
    }

    /// `text` split at CR, LF and CRLF, with other control characters but HTAB shown as `?`.
    private static func sanitized(_ text: String) -> [String] {
        guard text.unicodeScalars.contains(where: SMTPCharacterClass.isControl) else { return [text] }
        var lines: [String] = []
        var current = String.UnicodeScalarView()
        var previousWasCR = false
        for scalar in text.unicodeScalars {
            defer { previousWasCR = scalar == "\r" }
            switch scalar {
            case "\n" where previousWasCR:
                continue
            case "\r", "\n":
                lines.append(String(current))
                current = String.UnicodeScalarView()
            case "\t":
                current.append(scalar)
            default:
                current.append(SMTPCharacterClass.isControl(scalar) ? "?" : scalar)
            }
        }
        lines.append(String(current))
        return lines
    }

    /// `text` broken into pieces of at most `room` octets, at a space where one is near the end,
    /// and never inside a UTF-8 sequence.
    private static func wrapped(_ text: String, room: Int) -> [String] {
        guard text.utf8.count > room else { return [text] }
        var pieces: [String] = []
        var rest = Substring(text)
        while rest.utf8.count > room {
            var end = rest.startIndex
            var octets = 0
            var lastSpace: String.Index?
            for index in rest.unicodeScalars.indices {
                let width = rest.unicodeScalars[index].utf8.count
                if octets + width > room { break }
                octets += width
                if rest.unicodeScalars[index] == " " { lastSpace = index }
                end = rest.unicodeScalars.index(after: index)
            }
            if let lastSpace, rest.utf8.distance(from: rest.startIndex, to: lastSpace) > room / 2 {
                end = lastSpace
            }
            pieces.append(String(rest[..<end]))
            rest = rest[end...]
            if rest.first == " " { rest = rest.dropFirst() }
        }
        pieces.append(String(rest))
        return pieces
    }

    /// The same reply with every non-ASCII character shown as `?`: what a server sends to a client
    /// that has not asked for SMTPUTF8 (RFC 5321 §4.2's `textstring` is ASCII; UTF-8 in reply
    /// text belongs to RFC 6531 sessions).
    public var asciiOnly: SMTPReply {
        guard lines.contains(where: { $0.utf8.contains { $0 >= 0x80 } }) else { return self }
        let ascii = lines.map { String($0.unicodeScalars.map { $0.isASCII ? Character($0) : "?" }) }
        return SMTPReply(code, enhancedCode, sanitizing: ascii, wrap: false)
    }

    /// 2yz: the command succeeded.
    public var isPositiveCompletion: Bool { (200..<300).contains(code) }
    /// 3yz: more is expected (DATA's 354, AUTH's 334).
    public var isPositiveIntermediate: Bool { (300..<400).contains(code) }
    /// 4yz: failed, but trying again later may succeed.
    public var isTransientFailure: Bool { (400..<500).contains(code) }
    /// 5yz: failed; do not repeat the command unchanged.
    public var isPermanentFailure: Bool { (500..<600).contains(code) }

    /// Writes the reply as it goes on the wire, CRLF after every line.
    public func encode(into buffer: inout ByteBuffer) {
        for (index, line) in lines.enumerated() {
            buffer.writeString(String(code))
            buffer.writeInteger(index == lines.count - 1 ? UInt8(ascii: " ") : UInt8(ascii: "-"))
            if let enhancedCode {
                buffer.writeString(enhancedCode.description)
                if !line.isEmpty { buffer.writeInteger(UInt8(ascii: " ")) }
            }
            buffer.writeString(line)
            buffer.writeStaticString("\r\n")
        }
    }

    /// The reply as it goes on the wire.
    public var encoded: String {
        var buffer = ByteBuffer()
        encode(into: &buffer)
        return String(buffer: buffer)
    }

    public var description: String {
        let prefix = enhancedCode.map { "\(code) \($0)" } ?? "\(code)"
        return lines.count == 1 ? "\(prefix) \(lines[0])" : "\(prefix) \(lines.joined(separator: " / "))"
    }
}
