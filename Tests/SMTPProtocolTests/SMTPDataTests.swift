import NIOCore
import SMTPProtocol
import Testing

@Suite("DATA text: unstuffing, the end marker, smuggling, dot-stuffing")
struct SMTPDataTests {
    /// Reads `wire` in chunks; returns the text, whether it ended, and what is left in the buffer.
    private func read(_ wire: String, chunk: Int, size: Int = 1 << 20, line: Int = 1000) throws(SMTPDataError) -> (text: String, complete: Bool, rest: String) {
        var reader = SMTPDataReader(maximumSize: size, maximumLineLength: line)
        var input = ByteBuffer()
        var text = ByteBuffer()
        var complete = false
        let bytes = Array(wire.utf8)
        var offset = 0
        while offset < bytes.count, !complete {
            let end = min(offset + chunk, bytes.count)
            input.writeBytes(bytes[offset..<end])
            offset = end
            var output = try reader.read(from: &input)
            text.writeBuffer(&output.text)
            complete = output.isComplete
        }
        input.writeBytes(bytes[offset...])
        return (String(buffer: text), complete, String(buffer: input))
    }

    @Test("unstuffing and the end marker", arguments: [1, 2, 5, 4096])
    func unstuffing(chunk: Int) throws {
        let cases: [(String, String, String)] = [
            (".\r\n", "", ""),
            ("a\r\n.\r\n", "a\r\n", ""),
            ("..\r\n.\r\n", ".\r\n", ""),
            ("..a\r\n.b\r\n\r\n.\r\nQUIT\r\n", ".a\r\nb\r\n\r\n", "QUIT\r\n"),
            ("a.\r\n.\r\n", "a.\r\n", ""),
            ("a\r\n..\r\n.\r\n", "a\r\n.\r\n", ""),
        ]
        for (wire, text, rest) in cases {
            let result = try read(wire, chunk: chunk)
            #expect(result.complete, "\(wire.debugDescription)")
            #expect(result.text == text, "\(wire.debugDescription)")
            #expect(result.rest == rest, "\(wire.debugDescription)")
        }
    }

    @Test("nothing ends the text but CRLF.CRLF; bare CR and LF are errors", arguments: [
        ("a\n.\r\n", SMTPDataError.Kind.bareLineFeed),
        ("a\r\n.\n", .bareLineFeed),
        ("a\r\n.\rb", .bareCarriageReturn),
        ("a\rb\r\n.\r\n", .bareCarriageReturn),
        ("a\r\n\n.\r\n", .bareLineFeed),
        ("\n.\r\n", .bareLineFeed),
        ("a\r\n.\r\r\n", .bareCarriageReturn),
    ])
    func smuggling(wire: String, kind: SMTPDataError.Kind) {
        for chunk in [1, 3, 100] {
            let error = #expect(throws: SMTPDataError.self) { try read(wire, chunk: chunk) }
            #expect(error?.kind == kind, "\(wire.debugDescription) in chunks of \(chunk)")
        }
    }

    @Test("an unfinished message is not complete and holds back a lone trailing CR")
    func unfinished() throws {
        var reader = SMTPDataReader(maximumSize: 100, maximumLineLength: 1000)
        var input = ByteBuffer(string: "abc\r")
        let output = try reader.read(from: &input)
        #expect(!output.isComplete)
        #expect(String(buffer: output.text) == "abc")
        #expect(input.readableBytes == 1)
        input.writeString("\n.\r\n")
        let rest = try reader.read(from: &input)
        #expect(String(buffer: rest.text) == "\r\n")
        #expect(rest.isComplete)
    }

    @Test("past the size limit text is counted, not kept")
    func sizeLimit() throws {
        var reader = SMTPDataReader(maximumSize: 10, maximumLineLength: 1000)
        var input = ByteBuffer(string: String(repeating: "0123456789\r\n", count: 1000) + ".\r\n")
        let output = try reader.read(from: &input)
        #expect(output.isComplete)
        #expect(output.text.readableBytes == 10)
        #expect(reader.size == 12_000)
        #expect(reader.exceedsSize)
    }

    @Test("the longest line is tracked")
    func lineLength() throws {
        var reader = SMTPDataReader(maximumSize: 1 << 20, maximumLineLength: 20)
        var input = ByteBuffer(string: "short\r\n" + String(repeating: "x", count: 30) + "\r\n..dotted\r\n.\r\n")
        _ = try reader.read(from: &input)
        #expect(reader.longestLine == 32)
        #expect(reader.exceedsLineLength)
    }

    @Test("the encoder's output reads back as the canonical text", arguments: 0..<200)
    func roundTrip(seed: Int) throws {
        var generator = SeededGenerator(seed: UInt64(seed))
        let pieces = ["", ".", "..", "a", ".a", "\r\n", "\n", "\r", " ", "ü", "\r\n.\r\n", "\n.\n", "x.y"]
        var message = ""
        for _ in 0..<Int.random(in: 0...40, using: &generator) { message += pieces.randomElement(using: &generator)! }
        // What the encoder must make of it: every line end CRLF, the last line ended.
        var canonical = ""
        var scalars = Array(message.unicodeScalars)[...]
        while let scalar = scalars.popFirst() {
            if scalar == "\r" {
                if scalars.first == "\n" { scalars.removeFirst() }
                canonical += "\r\n"
            } else if scalar == "\n" {
                canonical += "\r\n"
            } else {
                canonical.unicodeScalars.append(scalar)
            }
        }
        if !canonical.isEmpty, !canonical.hasSuffix("\r\n") { canonical += "\r\n" }

        var encoder = SMTPDataEncoder()
        var wire = ByteBuffer()
        let bytes = Array(message.utf8)
        var offset = 0
        while offset < bytes.count {
            let end = min(bytes.count, offset + Int.random(in: 1...7, using: &generator))
            encoder.encode(ByteBuffer(bytes: bytes[offset..<end]), into: &wire)
            offset = end
        }
        encoder.finish(into: &wire)
        let result = try read(String(buffer: wire), chunk: Int.random(in: 1...9, using: &generator))
        #expect(result.complete)
        #expect(result.rest == "")
        #expect(result.text == canonical, "\(message.debugDescription)")
    }
}
