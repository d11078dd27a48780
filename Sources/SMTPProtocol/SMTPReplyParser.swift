public import NIOCore

/// Reads replies from a server's byte stream (the client side of RFC 5321 §4.2).
///
/// Feed bytes with ``append(_:)`` and take complete replies with ``next()``. Lines end at CRLF
/// only; a reply ends at its first line whose fourth octet is a space (or that has just the
/// code). Every line of a multi-line reply must carry the same code. An enhanced status code
/// (RFC 2034) is recognised when each line's text starts with one whose class matches the reply
/// code. Line length and line count are bounded by ``SMTPLimits``.
public struct SMTPReplyParser: Sendable {
    private var framer: SMTPLineFramer
    private var pending: [(code: Int, text: Substring)] = []
    private let maximumLines: Int

    /// A parser bounded by `limits`: ``SMTPLimits/replyLineLength`` per line (RFC 5321 §4.5.3.1.5)
    /// and ``SMTPLimits/replyLines`` per reply; the other limits are not used.
    public init(limits: SMTPLimits = .default) {
        framer = SMTPLineFramer(maximumLineLength: limits.replyLineLength)
        maximumLines = limits.replyLines
    }

    /// Adds received bytes.
    public mutating func append(_ bytes: ByteBuffer) {
        framer.append(bytes)
    }

    /// Bytes received that are not yet part of a reply line.
    public var bufferedByteCount: Int { framer.bufferedByteCount }

    /// The octets of storage held for received bytes (capacity, not content): bounded by the
    /// line limit and one delivery, however long the stream.
    public var bufferCapacity: Int { framer.bufferCapacity }

    /// Whether part of a multi-line reply has been read.
    public var isInsideReply: Bool { !pending.isEmpty }

    /// The next complete reply, or `nil` when more bytes are needed.
    ///
    /// - Throws: ``SMTPReplyError`` for a line that is not a reply line, a code that changes within
    ///   a reply, an overlong line, or too many lines. The stream cannot be trusted afterwards.
    public mutating func next() throws(SMTPReplyError) -> SMTPReply? {
        while let event = framer.next() {
            switch event {
            case .lineTooLong(let octets):
                throw SMTPReplyError("reply line of \(octets) octets exceeds the limit")
            case .line(let line):
                guard let text = String(validating: line.readableBytesView, as: UTF8.self) else {
                    throw SMTPReplyError("reply line is not valid UTF-8")
                }
                let (code, isLast, rest) = try Self.parseLine(Substring(text))
                if let first = pending.first, first.code != code {
                    throw SMTPReplyError("reply code changed from \(first.code) to \(code) within one reply")
                }
                pending.append((code, rest))
                if isLast {
                    defer { pending.removeAll() }
                    return Self.makeReply(pending)
                }
                if pending.count >= maximumLines {
                    throw SMTPReplyError("reply has more than \(maximumLines) lines")
                }
            }
        }
        return nil
    }

    /// Parses one reply line: `Reply-code [ SP / "-" text ]`.
    static func parseLine(_ line: Substring) throws(SMTPReplyError) -> (code: Int, isLast: Bool, text: Substring) {
        let bytes = Array(line.utf8.prefix(4))
        guard bytes.count >= 3,
              (UInt8(ascii: "2")...UInt8(ascii: "5")).contains(bytes[0]),
              (UInt8(ascii: "0")...UInt8(ascii: "5")).contains(bytes[1]),
              (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[2])
        else {
            throw SMTPReplyError("not a reply line: \"\(line.prefix(40))\"")
        }
        let code = Int(bytes[0] - 48) * 100 + Int(bytes[1] - 48) * 10 + Int(bytes[2] - 48)
        if bytes.count == 3 { return (code, true, line[line.endIndex...]) }
        switch bytes[3] {
        case UInt8(ascii: " "): return (code, true, line.dropFirst(4))
        case UInt8(ascii: "-"): return (code, false, line.dropFirst(4))
        default: throw SMTPReplyError("not a reply line: \"\(line.prefix(40))\"")
        }
    }

    static func makeReply(_ lines: [(code: Int, text: Substring)]) -> SMTPReply {
        let code = lines[0].code
        // An enhanced code is taken only when every line starts with the same one, of the right class.
        var enhanced: EnhancedStatusCode?
        var texts = lines.map { String($0.text) }
        let candidates = lines.map { line -> (EnhancedStatusCode, Substring)? in
            let word = line.text.prefix { $0 != " " }
            guard let parsed = EnhancedStatusCode(word), parsed.statusClass == code / 100 else { return nil }
            return (parsed, line.text.dropFirst(word.count).drop { $0 == " " })
        }
        if let first = candidates.first ?? nil, candidates.allSatisfy({ $0?.0 == first.0 }) {
            enhanced = first.0
            texts = candidates.map { String($0!.1) }
        }
        return SMTPReply(unwrapped: code, enhanced, lines: texts)
    }
}

/// A server reply stream that does not follow RFC 5321 §4.2.
public struct SMTPReplyError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What is wrong.
    public let message: String

    /// An error saying `message` (what is wrong, with at most a short excerpt of the line); not
    /// checked.
    public init(_ message: String) {
        self.message = message
    }

    public var description: String { message }
}
