/// A scripted SMTP session for `swiftmta check session`: what the client sends, one write at a
/// time, and — in the golden form — what the session is expected to show.
///
/// Two forms are read:
/// - **Plain**: the client's lines as a person would type them into `telnet` (Exim's `-bh`
///   input). Each line goes out as its own write, followed by CRLF; a CR before the LF is dropped,
///   so files with either line end work. Nothing is a comment: a line starting with `#` inside a
///   message is message text.
/// - **Golden**: every line is a tagged transcript line (`X: text`) or a `#` comment, the form
///   the project's golden session tests use. `C: text` is a client line (text and CRLF); `R: text`
///   sends raw bytes with the escapes `\r`, `\n`, `\t`, `\\` and `\xHH`; consecutive `C:`/`R:` lines
///   go out as one write (a pipelined group), any other tagged line between them separates
///   writes. The other tags (`S:` replies, `P:` policy decisions, `T:` TLS, `I:` lines the check
///   adds, `L:` the server's log, `X:` the end) are what the run must show; the tags a file uses
///   are compared, the others ignored; the lookups under a decision (`P:   …`) only when the
///   file has any, and paths under the configuration's folder relative to it. The lines only SMTPProtocol's state-machine harness
///   reads (`A:`, `F:`, `E:`, `@` directives) separate writes and are otherwise skipped.
package struct SessionTranscript: Sendable {
    /// One write of the client.
    package struct Write: Sendable {
        package var bytes: [UInt8]
        /// The transcript lines that gave it, as the output echoes them.
        package var lines: [String]
    }

    package enum Form: Sendable {
        case plain
        case golden
    }

    package let form: Form
    package let writes: [Write]
    /// Golden form: the tagged lines, in order (comments left out).
    package let expected: [String]

    /// The tags that make a transcript golden; `C` and `R` are the client's.
    static let tags: Set<Character> = ["C", "R", "S", "P", "T", "I", "L", "X"]
    /// The lines of SMTPProtocol's state-machine transcripts that only its harness reads
    /// (`A:` actions, `F:` flush points, `E:` driver events, `@` directives): skipped, so that
    /// such a transcript runs here for its client lines and replies.
    static let harnessTags: Set<Character> = ["A", "F", "E"]

    package init(text: String) throws(SessionCheckError) {
        // By octets: "\r\n" is one Character, which a split at "\n" would not see.
        var lines = text.utf8.split(separator: 10, omittingEmptySubsequences: false).map { line in
            String(decoding: line.last == 13 ? line.dropLast() : line[...], as: UTF8.self)
        }
        if lines.last == "" { lines.removeLast() }
        let golden = !lines.isEmpty && lines.allSatisfy { line in
            line.isEmpty || line.hasPrefix("#") || line.hasPrefix("@") || Self.tag(of: line) != nil || Self.isHarnessLine(line)
        } && lines.contains { Self.tag(of: $0) != nil }
        guard golden else {
            form = .plain
            writes = lines.map { Write(bytes: Array(($0 + "\r\n").utf8), lines: ["C: " + $0]) }
            expected = []
            return
        }
        form = .golden
        var writes: [Write] = []
        var expected: [String] = []
        var current: Write?
        for (index, line) in lines.enumerated() {
            if line.isEmpty || line.hasPrefix("#") || line.hasPrefix("@") { continue }
            if Self.isHarnessLine(line) {
                // Not compared, but it separates writes as in SMTPProtocol's harness.
                if let write = current { writes.append(write) }
                current = nil
                continue
            }
            guard let tag = Self.tag(of: line) else { continue }
            let body = line.count > 3 ? String(line.dropFirst(3)) : ""
            switch tag {
            case "C", "R":
                let bytes: [UInt8]
                if tag == "C" {
                    bytes = Array((body + "\r\n").utf8)
                } else {
                    do {
                        bytes = try Self.unescape(body)
                    } catch {
                        throw SessionCheckError("transcript line \(index + 1): \(error.message)")
                    }
                }
                let echoed = tag == "C" ? "C: " + body : "R: " + body
                if current == nil { current = Write(bytes: [], lines: []) }
                current!.bytes += bytes
                current!.lines.append(echoed)
                expected.append(echoed)
            default:
                if let write = current { writes.append(write) }
                current = nil
                expected.append(Self.normalized(line))
            }
        }
        if let write = current { writes.append(write) }
        self.writes = writes
        self.expected = expected
    }

    /// The tags of expected lines the file uses besides the client's.
    package var comparedTags: Set<Character> {
        Set(expected.compactMap { Self.tag(of: $0) })
    }

    static func isHarnessLine(_ line: String) -> Bool {
        guard let first = line.first, harnessTags.contains(first) else { return false }
        return line.dropFirst().hasPrefix(":")
    }

    /// `X` for a line `X: …` (or `X:`) with a known tag.
    package static func tag(of line: String) -> Character? {
        guard let first = line.first, tags.contains(first) else { return nil }
        let rest = line.dropFirst()
        guard rest.first == ":" else { return nil }
        let after = rest.dropFirst()
        guard after.isEmpty || after.first == " " else { return nil }
        return first
    }

    /// `line` without any occurrence of `prefix`.
    static func removing(_ prefix: String, from line: String) -> String {
        guard !prefix.isEmpty, line.contains(prefix) else { return line }
        var result = ""
        var rest = Substring(line)
        while let range = rest.firstRange(of: prefix) {
            result += rest[..<range.lowerBound]
            rest = rest[range.upperBound...]
        }
        return result + rest
    }

    /// `S:` and `S: ` are the same line.
    static func normalized(_ line: String) -> String {
        line.count == 2 ? line + " " : line
    }

    package struct EscapeError: Error {
        package let message: String
    }

    /// The bytes of an `R:` line.
    package static func unescape(_ text: String) throws(EscapeError) -> [UInt8] {
        var bytes: [UInt8] = []
        var iterator = Array(text.utf8).makeIterator()
        while let byte = iterator.next() {
            guard byte == UInt8(ascii: "\\") else {
                bytes.append(byte)
                continue
            }
            guard let escaped = iterator.next() else { throw EscapeError(message: "a lone \\ at the end of an R: line") }
            switch escaped {
            case UInt8(ascii: "r"): bytes.append(13)
            case UInt8(ascii: "n"): bytes.append(10)
            case UInt8(ascii: "t"): bytes.append(9)
            case UInt8(ascii: "\\"): bytes.append(UInt8(ascii: "\\"))
            case UInt8(ascii: "x"):
                guard let high = iterator.next(), let low = iterator.next(),
                      let value = UInt8(String(decoding: [high, low], as: UTF8.self), radix: 16) else {
                    throw EscapeError(message: "\\x needs two hex digits")
                }
                bytes.append(value)
            default:
                throw EscapeError(message: "unknown escape \\\(Character(Unicode.Scalar(escaped))) (use \\r \\n \\t \\\\ \\xHH)")
            }
        }
        return bytes
    }

    /// Bytes as an `R:` line shows them.
    package static func escape(_ bytes: some Sequence<UInt8>) -> String {
        var text = ""
        for byte in bytes {
            switch byte {
            case 13: text += "\\r"
            case 10: text += "\\n"
            case 9: text += "\\t"
            case UInt8(ascii: "\\"): text += "\\\\"
            case 32..<127: text.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                let hex = String(byte, radix: 16)
                text += "\\x" + (hex.count == 1 ? "0" : "") + hex
            }
        }
        return text
    }
}
