/// Turns message text as it travels in SMTP (CRLF line ends) into the form local mailbox files hold
/// (LF line ends), a chunk at a time, and for mbox escapes lines that would read as a new message.
///
/// Maildir files and mbox files store lines ending in LF (maildir(5), mbox(5)); the spool holds
/// CRLF. A CR that ends one chunk may be the first half of a CRLF split across chunks, so it is held
/// back until the next chunk shows what follows it.
///
/// mbox escaping is "mboxrd": a line that, after any number of `>`, starts with `From ` gets one more
/// `>` in front, so that the `From ` line that separates messages stays unambiguous and a reader can
/// undo the escaping exactly.
struct LocalLineEncoder {
    /// Whether to escape `From ` lines (mbox).
    let escapesFromLines: Bool

    private var pendingCR = false
    /// At the start of a line: the `>`s seen so far, and whether we are still looking for `From `.
    private var lineStart: [UInt8] = []
    private var atLineStart = true
    /// Whether the last octet written was a line end (or nothing was written).
    private(set) var endsWithNewline = true

    init(escapesFromLines: Bool) {
        self.escapesFromLines = escapesFromLines
    }

    /// Encodes `chunk`, appending the result to `output`.
    mutating func encode(_ chunk: some Collection<UInt8>, into output: inout [UInt8]) {
        output.reserveCapacity(output.count + chunk.count + 8)
        for byte in chunk {
            if pendingCR {
                pendingCR = false
                if byte == UInt8(ascii: "\n") {
                    emitLineEnd(into: &output)
                    continue
                }
                // A CR that is not part of CRLF is kept as it is.
                emit(UInt8(ascii: "\r"), into: &output)
            }
            if byte == UInt8(ascii: "\r") {
                pendingCR = true
            } else if byte == UInt8(ascii: "\n") {
                emitLineEnd(into: &output)
            } else {
                emit(byte, into: &output)
            }
        }
    }

    /// Writes what is held back (a final CR, an unfinished line start) and, when the text did not end
    /// with a line end, one LF.
    mutating func finish(into output: inout [UInt8]) {
        if pendingCR {
            pendingCR = false
            emit(UInt8(ascii: "\r"), into: &output)
        }
        flushLineStart(into: &output)
        if !endsWithNewline { emitLineEnd(into: &output) }
    }

    private static let from: [UInt8] = Array("From ".utf8)

    private mutating func emit(_ byte: UInt8, into output: inout [UInt8]) {
        endsWithNewline = false
        guard escapesFromLines, atLineStart else {
            output.append(byte)
            return
        }
        lineStart.append(byte)
        let quotes = lineStart.prefix { $0 == UInt8(ascii: ">") }.count
        let rest = lineStart.dropFirst(quotes)
        if rest.elementsEqual(Self.from) {
            output.append(UInt8(ascii: ">"))
            output.append(contentsOf: lineStart)
            lineStart.removeAll(keepingCapacity: true)
            atLineStart = false
        } else if !Self.from.starts(with: rest) {
            output.append(contentsOf: lineStart)
            lineStart.removeAll(keepingCapacity: true)
            atLineStart = false
        }
    }

    private mutating func flushLineStart(into output: inout [UInt8]) {
        output.append(contentsOf: lineStart)
        lineStart.removeAll(keepingCapacity: true)
    }

    private mutating func emitLineEnd(into output: inout [UInt8]) {
        flushLineStart(into: &output)
        output.append(UInt8(ascii: "\n"))
        atLineStart = true
        endsWithNewline = true
    }
}
