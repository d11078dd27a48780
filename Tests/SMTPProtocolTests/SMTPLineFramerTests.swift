import NIOCore
import SMTPProtocol
import Testing

@Suite("CRLF-strict line framing")
struct SMTPLineFramerTests {
    /// Feeds `input` in pieces of `chunk` bytes and collects every event.
    private func frame(_ input: String, limit: Int = 512, chunk: Int) -> [String] {
        var framer = SMTPLineFramer(maximumLineLength: limit)
        var events: [String] = []
        let bytes = Array(input.utf8)
        var offset = 0
        while offset < bytes.count {
            let end = min(offset + chunk, bytes.count)
            framer.append(ByteBuffer(bytes: bytes[offset..<end]))
            offset = end
            while let event = framer.next() {
                switch event {
                case .line(let line): events.append("line:" + String(buffer: line))
                case .lineTooLong(let octets): events.append("too long:\(octets)")
                }
            }
        }
        return events
    }

    @Test("lines end at CRLF only, fed whole or byte by byte", arguments: [1, 2, 3, 7, 1000])
    func crlfOnly(chunk: Int) {
        let events = frame("EHLO a\r\nNOOP\nstill\rone\r\nQUIT\r\npartial", chunk: chunk)
        #expect(events == ["line:EHLO a", "line:NOOP\nstill\rone", "line:QUIT"])
    }

    @Test("an overlong line is reported once and dropped up to its CRLF", arguments: [1, 5, 100, 5000])
    func overlong(chunk: Int) {
        let long = String(repeating: "x", count: 2000)
        let events = frame("\(long)\r\nNOOP\r\n", limit: 512, chunk: chunk)
        #expect(events == ["too long:2002", "line:NOOP"])
    }

    @Test("a line of exactly the limit passes; one more octet does not")
    func boundary() {
        let exact = String(repeating: "a", count: 510)
        #expect(frame("\(exact)\r\n", limit: 512, chunk: 512) == ["line:\(exact)"])
        #expect(frame("\(exact)a\r\n", limit: 512, chunk: 512) == ["too long:513"])
    }

    @Test("memory stays bounded while a peer never sends CRLF")
    func bounded() {
        var framer = SMTPLineFramer(maximumLineLength: 512)
        for _ in 0..<1000 {
            framer.append(ByteBuffer(repeating: UInt8(ascii: "z"), count: 1000))
            #expect(framer.next() == nil)
            #expect(framer.bufferedByteCount <= 1000 + 512)
        }
        framer.append(ByteBuffer(string: "\r\n"))
        #expect(framer.next() == .lineTooLong(octets: 1_000_002))
    }
}
