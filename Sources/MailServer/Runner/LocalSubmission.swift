import NIOCore
import SMTPProtocol
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A message submitted on this host (`swiftmta sendmail`, cron, PHP's mail()): no SMTP client, so
/// MailRouting treats it as a local submission (it may relay). The spool gets it with a
/// `Received:` line naming the local user (as Sendmail's `Received: (from alice@localhost)`) and,
/// when an untrusted user set the envelope sender with `-f` and the privacy flags hold
/// `authwarnings` (Sendmail's default), Sendmail's `X-Authentication-Warning:`.
enum LocalSubmission {
    /// Who submitted, from the control socket's peer credentials or the process's own.
    struct Submitter: Sendable {
        var user: String
        var uid: UInt32
        /// Root and the server's own user: may set any sender without a warning.
        var trusted: Bool

        /// The user running this process.
        static var current: Submitter {
            let uid = getuid()
            return Submitter(user: userName(uid), uid: uid, trusted: true)
        }

        /// The account name of `uid`, or the number.
        static func userName(_ uid: UInt32) -> String {
            var entry = passwd()
            var result: UnsafeMutablePointer<passwd>?
            var buffer = [CChar](repeating: 0, count: 4096)
            guard getpwuid_r(uid, &entry, &buffer, buffer.count, &result) == 0, result != nil, let name = entry.pw_name else {
                return "\(uid)"
            }
            return String(cString: name)
        }
    }

    /// Why a submission was refused (bad sender or recipients): sysexits' EX_DATAERR / EX_NOUSER.
    struct Refusal: Error, CustomStringConvertible {
        var message: String
        var status: Int32
        var description: String { message }
    }

    /// The envelope of `submission` (its addresses already checked by the command).
    static func envelope(_ submission: QueueControl.Submission, hostname: String) throws(Refusal) -> QueueEnvelope {
        let reversePath: ReversePath
        let sender = submission.sender.trimmingAngles
        if sender.isEmpty {
            reversePath = .null
        } else {
            do {
                reversePath = ReversePath(mailbox: try Mailbox(parsing: qualified(sender, hostname: hostname)))
            } catch {
                throw Refusal(message: "\(submission.sender): \(error.message)", status: 65)
            }
        }
        var parameters = MailParameters()
        var notify: DSNNotify?
        for parameter in submission.parameters {
            let parts = parameter.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2 else { throw Refusal(message: "\(parameter): not KEY=VALUE", status: 64) }
            switch parts[0].uppercased() {
            case "RET":
                guard let ret = DSNReturn(rawValue: parts[1].uppercased()) else { throw Refusal(message: "RET must be FULL or HDRS", status: 64) }
                parameters.dsnReturn = ret
            case "ENVID":
                parameters.envelopeID = parts[1]
            case "NOTIFY":
                guard let value = DSNNotify(parts[1]) else { throw Refusal(message: "NOTIFY must be NEVER or SUCCESS,FAILURE,DELAY", status: 64) }
                notify = value
            default:
                throw Refusal(message: "unknown parameter \(parts[0])", status: 64)
            }
        }
        var recipients: [SMTPEnvelope.Recipient] = []
        for text in submission.recipients {
            do {
                let mailbox = try Mailbox(parsing: qualified(text.trimmingAngles, hostname: hostname))
                recipients.append(SMTPEnvelope.Recipient(ForwardPath(mailbox: mailbox), parameters: RecipientParameters(notify: notify)))
            } catch {
                throw Refusal(message: "\(text): \(error.message)", status: 65)
            }
        }
        guard !recipients.isEmpty else { throw Refusal(message: "no recipients", status: 64) }
        parameters.smtpUTF8 = !(reversePath.mailbox?.isASCII ?? true) || recipients.contains { !$0.path.isASCII }
        return QueueEnvelope(
            reversePath: reversePath, mailParameters: parameters, recipients: recipients,
            client: QueueEnvelope.Client(protocolName: "local"))
    }

    /// `user` becomes `user@hostname`.
    static func qualified(_ address: String, hostname: String) -> String {
        address.contains("@") ? address : "\(address)@\(hostname)"
    }

    /// Stores the submission: the trace header, then `text` (CRLF lines); returns the queue id once
    /// it is durable.
    static func store<Text: AsyncSequence>(
        _ submission: QueueControl.Submission, text: Text, submitter: Submitter, queue: MailQueue, hostname: String,
        authWarnings: Bool = true, now: QueueTimestamp = .now
    ) async throws -> QueueID where Text.Element == ByteBuffer {
        let envelope = try envelope(submission, hostname: hostname)
        let writer = try queue.beginMessage()
        var header = "Received: (from \(submitter.user)@localhost)\r\n\tby \(hostname) (SwiftMTA) id \(writer.id);\r\n\t\(RFC5322Date.now())\r\n"
        if authWarnings, submission.senderGiven, !submitter.trusted, let mailbox = envelope.reversePath.mailbox,
           mailbox.quoted.lowercased() != "\(submitter.user)@\(hostname)".lowercased() {
            header += "X-Authentication-Warning: \(hostname): \(submitter.user) set sender to \(mailbox.quoted) using -f\r\n"
        }
        do {
            try await writer.append(ByteBuffer(string: header))
            for try await piece in text { try await writer.append(piece) }
            return try await writer.commit(envelope)
        } catch {
            writer.abort()
            throw error
        }
    }
}

extension String {
    /// Without one pair of surrounding angle brackets.
    var trimmingAngles: String {
        var text = Substring(self)
        while text.first == " " { text.removeFirst() }
        while text.last == " " { text.removeLast() }
        if text.hasPrefix("<"), text.hasSuffix(">") { text = text.dropFirst().dropLast() }
        return String(text)
    }
}
