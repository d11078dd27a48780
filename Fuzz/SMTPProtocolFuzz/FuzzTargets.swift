import NIOCore
import SMTPProtocol

/// The fuzz targets: each takes arbitrary bytes and must neither crash, hang, nor grow memory
/// without bound. Selected by name (`SWIFTMTA_FUZZ_TARGET` when fuzzing, the first argument when
/// replaying files).
enum FuzzTargets {
    static let all: [String: @Sendable (UnsafeRawBufferPointer) -> Void] = [
        "command": command,
        "reply": reply,
        "data": data,
        "server": server,
    ]

    /// The command parser, and encode → parse for what parses.
    static func command(_ bytes: UnsafeRawBufferPointer) {
        guard let parsed = try? SMTPCommand.parse(ByteBuffer(bytes: bytes)) else { return }
        var encoded = ByteBuffer()
        parsed.encode(into: &encoded)
        encoded.moveWriterIndex(to: encoded.writerIndex - 2)
        let reparsed = try? SMTPCommand.parse(encoded)
        precondition(reparsed == parsed, "round trip changed \(parsed) into \(String(describing: reparsed))")
    }

    /// The reply parser, fed in two pieces split at the first byte's value.
    static func reply(_ bytes: UnsafeRawBufferPointer) {
        var parser = SMTPReplyParser()
        let split = bytes.isEmpty ? 0 : Int(bytes[0]) % max(bytes.count, 1)
        parser.append(ByteBuffer(bytes: bytes[..<split]))
        while (try? parser.next()) ?? nil != nil {}
        parser.append(ByteBuffer(bytes: bytes[split...]))
        while let reply = (try? parser.next()) ?? nil {
            precondition((200...599).contains(reply.code))
        }
    }

    /// The DATA reader with small limits, fed byte by byte and whole; both must agree.
    static func data(_ bytes: UnsafeRawBufferPointer) {
        func run(chunk: Int) -> (String, Bool, Int)? {
            var reader = SMTPDataReader(maximumSize: 4096, maximumLineLength: 100)
            var input = ByteBuffer()
            var text = ByteBuffer()
            var offset = 0
            while offset < bytes.count {
                let end = min(offset + chunk, bytes.count)
                input.writeBytes(bytes[offset..<end])
                offset = end
                guard var output = try? reader.read(from: &input) else { return nil }
                text.writeBuffer(&output.text)
                if output.isComplete { return (String(buffer: text), true, input.readableBytes + bytes.count - offset) }
            }
            precondition(text.readableBytes <= 4096)
            return (String(buffer: text), false, 0)
        }
        let whole = run(chunk: max(bytes.count, 1))
        let single = run(chunk: 1)
        precondition((whole == nil) == (single == nil), "byte-by-byte and whole reads disagree on errors")
        if let whole, let single, whole.1, single.1 {
            precondition(whole.0 == single.0 && whole.2 == single.2, "byte-by-byte and whole reads disagree")
        }
    }

    /// The server state machine, answering every question with yes, fed arbitrary client bytes.
    static func server(_ bytes: UnsafeRawBufferPointer) {
        var configuration = SMTPServerConfiguration(hostname: "fuzz.example", startTLSAvailable: true, authMechanismsWithoutTLS: ["PLAIN"])
        configuration.limits.messageSize = 10_000
        configuration.limits.recipients = 5
        var machine = SMTPServerStateMachine(configuration: configuration)
        machine.start()
        var offset = 0
        var actions = 0
        while offset < bytes.count, !machine.isClosed {
            let end = min(bytes.count, offset + 1 + Int(bytes[offset]) % 64)
            machine.receive(ByteBuffer(bytes: bytes[offset..<end]))
            offset = end
            while let action = machine.next() {
                actions += 1
                precondition(actions < 1_000_000, "runaway action stream")
                switch action {
                case .hello, .mail, .recipient, .data, .verify, .expand, .etrn, .messageComplete:
                    machine.accept()
                case .authStart(_, let response):
                    if response == nil { machine.authChallenge([1, 2, 3]) } else { machine.authSucceeded(identity: "fuzz") }
                case .authResponse:
                    machine.authFailed()
                case .startTLS:
                    machine.tlsEstablished()
                case .send, .messageText, .transactionAborted, .authCancelled, .close:
                    break
                }
            }
            precondition(machine.bufferedByteCount <= bytes.count)
        }
    }
}
