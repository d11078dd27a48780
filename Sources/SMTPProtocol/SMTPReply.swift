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
public struct SMTPReply: Hashable, Sendable, CustomStringConvertible {
    /// The reply code, 200–599 (RFC 5321 §4.2.1 uses 2yz–5yz; 1yz is not used by SMTP).
    public var code: Int
    /// The enhanced status code, shown after the reply code on each line.
    public var enhancedCode: EnhancedStatusCode?
    /// The text lines; at least one (possibly empty). They hold no CR or LF.
    public var lines: [String]

    /// Makes a reply. Lines are split at any CR or LF they contain, so a text can never inject a
    /// reply line of its own.
    public init(_ code: Int, _ enhancedCode: EnhancedStatusCode?, _ text: String) {
        self.init(code, enhancedCode, lines: [text])
    }

    /// Makes a one-line reply without an enhanced status code (the greeting, EHLO's first line).
    public init(_ code: Int, _ text: String) {
        self.init(code, nil, lines: [text])
    }

    /// Makes a multi-line reply.
    public init(_ code: Int, _ enhancedCode: EnhancedStatusCode? = nil, lines: [String]) {
        self.code = code
        self.enhancedCode = enhancedCode
        let split = lines.flatMap { $0.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\r" || $0 == "\n" || $0 == "\r\n" }) }
            .map(String.init)
        self.lines = split.isEmpty ? [""] : split
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
