public import SMTPProtocol

/// A message on its way into a local mailbox: who sent it, who it is for, and its text read a chunk
/// at a time (SMTP form: CRLF line ends, not dot-stuffed), so that a large message never has to be in
/// memory whole.
public struct LocalMessage {
    /// The envelope sender, written as `Return-Path:` (and in mbox's `From ` line).
    public var reversePath: ReversePath
    /// The recipient as it was addressed, written as `Delivered-To:` (the loop check of RFC 5321
    /// §6.3 for local delivery, as Postfix and qmail write it).
    public var recipient: String
    /// Returns the next piece of the message text, or `nil` at its end. An error it throws ends the
    /// delivery as a temporary failure, and nothing is left in the mailbox.
    public var nextChunk: () throws -> [UInt8]?

    /// A message for `recipient` from `reversePath`, its text read by `nextChunk` until `nil`.
    public init(reversePath: ReversePath, recipient: String, nextChunk: @escaping () throws -> [UInt8]?) {
        self.reversePath = reversePath
        self.recipient = recipient
        self.nextChunk = nextChunk
    }

    /// `Return-Path:` and `Delivered-To:` with LF line ends, as they open the stored message.
    var traceHeaders: [UInt8] {
        Array("Return-Path: \(reversePath)\nDelivered-To: \(Self.headerSafe(recipient))\n".utf8)
    }

    /// The envelope sender as mbox's `From ` line names it: the address, or `MAILER-DAEMON` for `<>`.
    var envelopeSenderName: String {
        guard let mailbox = reversePath.mailbox else { return "MAILER-DAEMON" }
        // The From line is split at spaces by readers: a quoted local part with a space is kept
        // readable but unbroken.
        return mailbox.quoted.replacing(" ", with: "_")
    }

    /// Text that can sit in a header: no CR, LF or NUL (an address never has them; this is a guard).
    private static func headerSafe(_ text: String) -> String {
        String(text.unicodeScalars.filter { $0 != "\r" && $0 != "\n" && $0 != "\0" })
    }

    /// Streams the text through `encoder` into `write`, in pieces of about 64 KiB.
    func copyText(
        encoder: inout LocalLineEncoder, write: (borrowing [UInt8]) throws(LocalDeliveryError) -> Void
    ) throws(LocalDeliveryError) {
        var output: [UInt8] = []
        output.reserveCapacity(1 << 16)
        while true {
            let chunk: [UInt8]?
            do {
                chunk = try nextChunk()
            } catch {
                throw LocalDeliveryError(
                    isTemporary: true, status: EnhancedStatusCode(4, 3, 0)!,
                    message: "reading the queued message: \(error)")
            }
            guard let chunk else { break }
            encoder.encode(chunk, into: &output)
            if output.count >= 1 << 16 {
                try write(output)
                output.removeAll(keepingCapacity: true)
            }
        }
        encoder.finish(into: &output)
        try write(output)
    }
}
