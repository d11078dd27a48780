import NIOCore
import NIOPosix
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The message `sendmail` reads from standard input, as lines: LF or CRLF line ends become CRLF
/// (the spool's form); without `-i`, a line holding a single dot ends it, as Sendmail reads it.
/// Reads happen on NIO's blocking-I/O pool, never on a cooperative thread.
///
/// Used by one task at a time.
final class SubmissionInput: @unchecked Sendable {
    let ignoreDots: Bool
    private var buffer: [UInt8] = []
    private var offset = 0
    private var atEnd = false
    /// A line read while looking for the header's end that belongs to the body.
    private var pushedBack: [UInt8]?
    private var ended = false

    init(ignoreDots: Bool) {
        self.ignoreDots = ignoreDots
    }

    /// The next raw chunk of standard input; `nil` at its end.
    func readRaw() async -> [UInt8]? {
        guard !atEnd else { return nil }
        let chunk: [UInt8]? = try? await NIOThreadPool.singleton.runIfActive {
            var bytes = [UInt8](repeating: 0, count: 1 << 16)
            while true {
                let count = bytes.withUnsafeMutableBytes { read(STDIN_FILENO, $0.baseAddress, $0.count) }
                if count < 0, errno == EINTR { continue }
                guard count > 0 else { return nil }
                return Array(bytes.prefix(count))
            }
        }
        if chunk == nil { atEnd = true }
        return chunk ?? nil
    }

    /// The next line without its line end; `nil` at the end of the message.
    func nextLine() async -> [UInt8]? {
        if let line = pushedBack {
            pushedBack = nil
            return line
        }
        guard !ended else { return nil }
        while true {
            if let newline = buffer[offset...].firstIndex(of: 10) {
                var line = Array(buffer[offset..<newline])
                offset = newline + 1
                if offset > 1 << 16 {
                    buffer.removeFirst(offset)
                    offset = 0
                }
                if line.last == 13 { line.removeLast() }
                if !ignoreDots, line == [46] {
                    ended = true
                    return nil
                }
                return line
            }
            guard let more = await readRaw() else {
                ended = true
                guard offset < buffer.count else { return nil }
                var line = Array(buffer[offset...])
                offset = buffer.count
                if line.last == 13 { line.removeLast() }
                if !ignoreDots, line == [46] { return nil }
                return line
            }
            buffer += more
        }
    }

    /// The header lines up to (and without) the empty line that ends them — at most `limit`
    /// octets; `nil` when it is longer. A first line that is not a header field starts the body.
    func readHeader(limit: Int) async -> String? {
        var lines: [String] = []
        var size = 0
        while let line = await nextLine() {
            if line.isEmpty { break }
            let isContinuation = line.first == 32 || line.first == 9
            let isField = !isContinuation && Self.isFieldStart(line)
            guard isField || (isContinuation && !lines.isEmpty) else {
                pushedBack = line
                break
            }
            size += line.count + 2
            guard size <= limit else { return nil }
            lines.append(String(decoding: line, as: UTF8.self))
        }
        return lines.map { $0 + "\r\n" }.joined()
    }

    /// `Name:` with a printable name (RFC 5322 §2.2).
    static func isFieldStart(_ line: [UInt8]) -> Bool {
        guard let colon = line.firstIndex(of: 58), colon > 0 else { return false }
        return line[..<colon].allSatisfy { $0 > 32 && $0 < 127 }
    }

    /// The next piece of the body (CRLF lines, about 64 KiB); `nil` at the end.
    func nextBodyChunk() async -> ByteBuffer? {
        var chunk = ByteBuffer()
        while chunk.readableBytes < 1 << 16, let line = await nextLine() {
            chunk.writeBytes(line)
            chunk.writeBytes([13, 10])
        }
        return chunk.readableBytes > 0 ? chunk : nil
    }
}

/// The text of a submission: the prepared header, then the rest of standard input.
struct SubmissionText: AsyncSequence, Sendable {
    typealias Element = ByteBuffer
    let header: ByteBuffer
    let input: SubmissionInput

    struct AsyncIterator: AsyncIteratorProtocol {
        var header: ByteBuffer?
        let input: SubmissionInput
        mutating func next() async throws -> ByteBuffer? {
            if let header {
                self.header = nil
                return header
            }
            return await input.nextBodyChunk()
        }
    }

    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(header: header, input: input) }
}

/// A message header as `sendmail` edits it: fields in order, looked up by name without regard to
/// case; `encoded` ends with the empty line that separates it from the body.
struct MessageHeader {
    /// Each field whole (continuation lines included, CRLF between them).
    private(set) var fields: [String] = []

    init(text: String) {
        for line in text.split(separator: "\r\n", omittingEmptySubsequences: true).map(String.init) {
            if let first = line.first, first == " " || first == "\t", !fields.isEmpty {
                fields[fields.count - 1] += "\r\n" + line
            } else {
                fields.append(line)
            }
        }
    }

    private static func name(of field: String) -> String {
        String(field.prefix { $0 != ":" }).lowercased().trimmingCharacters(in: " \t")
    }

    func contains(_ name: String) -> Bool { fields.contains { Self.name(of: $0) == name } }

    func contains(prefix: String) -> Bool { fields.contains { Self.name(of: $0).hasPrefix(prefix) } }

    /// The values of the fields named `name`, unfolded.
    func values(of name: String) -> [String] {
        fields.filter { Self.name(of: $0) == name }.map { field in
            String(field.drop { $0 != ":" }.dropFirst()).replacingOccurrences("\r\n", "")
        }
    }

    mutating func remove(_ name: String) {
        fields.removeAll { Self.name(of: $0) == name }
    }

    mutating func append(_ name: String, _ value: String) {
        fields.append("\(name): \(value)")
    }

    var encoded: String { fields.map { $0 + "\r\n" }.joined() + "\r\n" }

    /// A display name, quoted when it holds characters an atom may not (RFC 5322 §3.2.3).
    static func displayName(_ name: String) -> String {
        let special = "()<>[]:;@\\,.\""
        guard name.contains(where: { special.contains($0) }) else { return name }
        return "\"" + name.replacingOccurrences("\\", "\\\\").replacingOccurrences("\"", "\\\"") + "\""
    }
}

extension String {
    fileprivate func trimmingCharacters(in set: String) -> String {
        var text = Substring(self)
        while let first = text.first, set.contains(first) { text.removeFirst() }
        while let last = text.last, set.contains(last) { text.removeLast() }
        return String(text)
    }
}
