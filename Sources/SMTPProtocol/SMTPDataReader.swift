public import NIOCore

/// Reads the message text that follows DATA's 354 reply (RFC 5321 §4.1.1.4, §4.5.2): removes the
/// transparency dots and stops at the `CRLF.CRLF` that ends it — and nowhere else.
///
/// Only CRLF ends a line. A bare LF, or a CR not followed by LF, anywhere in the text is an error
/// (``SMTPDataError``): such sequences (`<LF>.<CR><LF>`, `<CR><LF>.<LF>`, …) are how SMTP smuggling
/// (CVE-2023-51764, -51765, -51766) makes two servers disagree on where a message ends. The reader
/// never reads past the end of the message, so pipelined commands after it stay in the buffer.
///
/// Memory is bounded: text is handed out as it arrives; past ``maximumSize`` it is counted but no
/// longer returned. The longest line is tracked against ``maximumLineLength``.
public struct SMTPDataReader: Hashable, Sendable {
    /// What reading produced.
    public struct Output: Sendable {
        /// Message text, unstuffed, with its CRLF line ends (empty when nothing new arrived, or when
        /// the message is past its size limit).
        public var text: ByteBuffer
        /// Whether the end of the message was reached.
        public var isComplete: Bool
    }

    private enum Position: Hashable, Sendable {
        /// At the start of a line.
        case lineStart
        /// After a dot at the start of a line (the dot is dropped).
        case leadingDot
        /// Inside a line.
        case inLine
        /// The end was read.
        case finished
    }

    /// The most message octets returned; the rest is counted only.
    public let maximumSize: Int
    /// The longest line allowed, CRLF included (RFC 5321 §4.5.3.1.6).
    public let maximumLineLength: Int

    /// Message octets seen so far (after unstuffing), including any past the size limit.
    public private(set) var size = 0
    /// The longest line seen, CRLF included.
    public private(set) var longestLine = 0

    private var position = Position.lineStart
    private var lineLength = 0

    /// A reader at the start of the message text, returning at most `maximumSize` octets and
    /// tracking lines against `maximumLineLength` (CRLF included). Neither value is checked.
    public init(maximumSize: Int, maximumLineLength: Int) {
        self.maximumSize = maximumSize
        self.maximumLineLength = maximumLineLength
    }

    /// Whether the message exceeded ``maximumSize``.
    public var exceedsSize: Bool { size > maximumSize }
    /// Whether a line exceeded ``maximumLineLength``.
    public var exceedsLineLength: Bool { longestLine > maximumLineLength }

    /// Consumes message bytes from `input`, up to and including the end marker when it arrives.
    ///
    /// A CR that is the last byte of `input` is left there until the byte after it arrives.
    ///
    /// - Throws: ``SMTPDataError`` at a bare CR or bare LF. The reader is unusable afterwards.
    public mutating func read(from input: inout ByteBuffer) throws(SMTPDataError) -> Output {
        var output = ByteBuffer()
        guard position != .finished else { return Output(text: output, isComplete: true) }
        var failure: SMTPDataError.Kind?
        var complete = false
        let consumed = input.withUnsafeReadableBytes { bytes -> Int in
            let count = bytes.count
            var index = 0
            var spanStart = 0
            func emit(_ range: Range<Int>) {
                guard !range.isEmpty else { return }
                let room = maximumSize - size
                size += range.count
                if room > 0 {
                    let end = range.lowerBound + min(room, range.count)
                    output.writeBytes(UnsafeRawBufferPointer(rebasing: bytes[range.lowerBound..<end]))
                }
            }
            scan: while index < count {
                switch position {
                case .lineStart:
                    if bytes[index] == UInt8(ascii: ".") {
                        emit(spanStart..<index)
                        index += 1
                        spanStart = index
                        lineLength = 1
                        position = .leadingDot
                    } else {
                        position = .inLine
                    }
                case .leadingDot:
                    guard bytes[index] == 0x0D else {
                        // A leading dot is removed, whatever follows (RFC 5321 §4.5.2).
                        position = .inLine
                        continue scan
                    }
                    guard index + 1 < count else { break scan }
                    guard bytes[index + 1] == 0x0A else {
                        failure = .bareCarriageReturn
                        break scan
                    }
                    index += 2
                    spanStart = index
                    complete = true
                    position = .finished
                    break scan
                case .inLine:
                    var end = index
                    while end < count, bytes[end] != 0x0D, bytes[end] != 0x0A { end += 1 }
                    lineLength += end - index
                    index = end
                    guard index < count else { break scan }
                    guard bytes[index] == 0x0D else {
                        failure = .bareLineFeed
                        break scan
                    }
                    guard index + 1 < count else { break scan }
                    guard bytes[index + 1] == 0x0A else {
                        failure = .bareCarriageReturn
                        break scan
                    }
                    index += 2
                    longestLine = max(longestLine, lineLength + 2)
                    lineLength = 0
                    position = .lineStart
                case .finished:
                    break scan
                }
            }
            if failure == nil { emit(spanStart..<index) }
            return index
        }
        if let failure {
            position = .finished
            throw SMTPDataError(failure, offset: size)
        }
        input.moveReaderIndex(forwardBy: consumed)
        return Output(text: output, isComplete: complete)
    }
}

/// Message text with a line end other than CRLF (RFC 5321 §2.3.8): refused, because it is how SMTP
/// smuggling works.
public struct SMTPDataError: Error, Hashable, Sendable, CustomStringConvertible {
    /// Which line end was found.
    public enum Kind: Hashable, Sendable {
        /// An LF without the CR before it.
        case bareLineFeed
        /// A CR without the LF after it.
        case bareCarriageReturn
    }

    /// Which line end was found.
    public let kind: Kind
    /// About where in the message, in octets from its start.
    public let offset: Int

    /// A bare line end of `kind` found about `offset` octets into the message; neither is checked.
    public init(_ kind: Kind, offset: Int) {
        self.kind = kind
        self.offset = offset
    }

    /// The reply a server sends before closing the connection.
    public var reply: SMTPReply {
        SMTPReply(554, .syntaxError, "Message contains a bare \(kind == .bareLineFeed ? "<LF>" : "<CR>"); only <CR><LF> ends a line (RFC 5321 section 2.3.8)")
    }

    public var description: String {
        "bare \(kind == .bareLineFeed ? "LF" : "CR") in message text near octet \(offset)"
    }
}
