import NIOCore
import SMTPClient
import SMTPProtocol

/// The fuzz targets of the client side: arbitrary server bytes must never crash the client's
/// session, run it away, or leave a call of the driver refused when the machine asked for it.
enum FuzzTargets {
    static let all: [String: @Sendable (UnsafeRawBufferPointer) -> Void] = [
        "session": session,
        "destination": destination,
    ]

    /// SMTPClientStateMachine against arbitrary server bytes, fed in pieces whose sizes come from
    /// the input. The first byte picks the configuration (TLS policy, AUTH, CHUNKING, LMTP); the
    /// driver does what every action asks — a transaction at each `ready`, text at `sendMessage`,
    /// PLAIN at `authenticate`, TLS at `startTLS` — and every such call must be accepted.
    static func session(_ bytes: UnsafeRawBufferPointer) {
        guard let first = bytes.first else { return }
        let configuration = SMTPClientStateMachine.Configuration(
            hostname: "client.fuzz", dialect: first & 1 == 0 ? .smtp : .lmtp,
            tlsPolicy: [.never, .opportunistic, .required][Int(first >> 1) % 3],
            wantsAuthentication: first & 8 != 0, prefersChunking: first & 16 != 0, chunkSize: 7)
        var machine = SMTPClientStateMachine(configuration: configuration)
        try! machine.start()
        let envelope = SMTPEnvelope(
            reversePath: ReversePath(mailbox: try! Mailbox(parsing: "a@fuzz.example")),
            parameters: MailParameters(size: 40, body: first & 32 != 0 ? .eightBitMIME : nil),
            recipients: [SMTPEnvelope.Recipient(ForwardPath(mailbox: try! Mailbox(parsing: "b@fuzz.example"))),
                         SMTPEnvelope.Recipient(ForwardPath(mailbox: try! Mailbox(parsing: "c@fuzz.example")))])
        var transactions = 0
        var actions = 0
        var offset = 1
        func drain() {
            while let action = machine.next() {
                actions += 1
                precondition(actions < 100_000, "runaway action stream")
                switch action {
                case .send, .sendText, .transactionComplete, .failed, .close, .abandonMessage:
                    break
                case .startTLS:
                    try! machine.tlsEstablished()
                case .authenticate:
                    try! machine.startAuthentication(mechanism: "PLAIN", initialResponse: Array("\0a\0b".utf8))
                case .authenticationChallenge:
                    try! machine.authenticationResponse([])
                case .ready:
                    break
                case .sendMessage:
                    try! machine.messageText(ByteBuffer(string: ".line one\r\n.\r\nline two"))
                    // A refused chunk may have ended the text already.
                    if machine.stage == .messageText { try! machine.endMessage() }
                }
                if machine.isReady, transactions < 4 {
                    transactions += 1
                    do {
                        try machine.send(envelope)
                    } catch {
                        // Refused before MAIL (8BITMIME not offered): a reply for every recipient.
                        precondition(error.kind != .wrongState, "send refused in the ready state: \(error)")
                        precondition(error.reply != nil)
                    }
                }
            }
        }
        drain()
        while offset < bytes.count, !machine.isClosed {
            let end = min(bytes.count, offset + 1 + Int(bytes[offset]) % 97)
            machine.receive(ByteBuffer(bytes: bytes[(offset + 1)..<max(offset + 1, end)]))
            offset = end
            drain()
        }
        machine.connectionClosed()
        drain()
        precondition(machine.isClosed)
    }

    /// Sendmail's host syntax: parsing never crashes, and an address or bracketed host written
    /// back parses to the same target.
    static func destination(_ bytes: UnsafeRawBufferPointer) {
        let text = String(decoding: bytes, as: UTF8.self)
        let target = SMTPDestination.Target(parsing: text)
        switch target {
        case .address, .host:
            precondition(SMTPDestination.Target(parsing: target.description) == target, "\(target) does not read back")
        case .mailExchangers, .unixSocket:
            break
        }
    }
}
