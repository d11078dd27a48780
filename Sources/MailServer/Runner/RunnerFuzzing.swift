import NIOCore

/// The queue runner's parsers over arbitrary bytes, for a fuzzer (MailRunnerFuzz): the control
/// socket's requests (from any local user), the sender-header rewriting of masquerading (from any
/// remote sender), the TLS policy map's values and sendmail's arguments. None may crash or hang,
/// and each result is checked for what it promises.
package enum RunnerFuzzing {
    /// Decodes a control request from the bytes, fed in two pieces split at the first byte's value.
    package static func controlRequest(_ input: UnsafeRawBufferPointer) {
        let bytes = Array(input)
        let split = bytes.isEmpty ? 0 : Int(bytes[0]) % (bytes.count + 1)
        var buffer = ByteBuffer(bytes: bytes[..<split])
        let early = try? QueueControl.decode(&buffer)
        buffer.writeBytes(bytes[split...])
        if early == nil, let request = try? QueueControl.decode(&buffer) {
            // What decodes, encodes to text that decodes to the same request.
            var again = ByteBuffer(string: QueueControl.encode(request))
            if case .submit = request {} else { precondition((try? QueueControl.decode(&again)) == request) }
        }
        for line in String(decoding: bytes, as: UTF8.self).split(separator: "\n") { _ = QueueControl.Answer(line: String(line)) }
    }

    /// Rewrites the sender fields of the bytes as a header, every address replaced.
    package static func senderHeader(_ input: UnsafeRawBufferPointer) {
        let text = String(decoding: input, as: UTF8.self)
        let rewritten = SenderMasquerade.rewriteHeader(text) { $0 + ".x" }
        if let rewritten { precondition(rewritten.utf8.count >= text.utf8.count) }
        var header = MessageHeader(text: text)
        _ = header.values(of: "to")
        header.remove("bcc")
        _ = header.encoded
        _ = SenderMasquerade.headerLength(Array(input))
    }

    /// Parses the bytes as a TLS policy map value.
    package static func tlsPolicy(_ input: UnsafeRawBufferPointer) {
        guard let policy = try? OutboundTLSPolicy(parsing: String(decoding: input, as: UTF8.self)) else { return }
        _ = policy.clientPolicy(nextHop: "example.org")
        _ = policy.withCredentials()
        precondition((try? OutboundTLSPolicy(parsing: policy.description)) == policy)
    }

    /// Parses the bytes, split at NUL, as sendmail's arguments.
    package static func sendmailArguments(_ input: UnsafeRawBufferPointer) {
        let arguments = input.split(separator: 0, omittingEmptySubsequences: false).map { String(decoding: $0, as: UTF8.self) }
        _ = SendmailCommandLine.parse(arguments, invokedAs: arguments.first == "mailq" ? "mailq" : "sendmail")
    }
}
