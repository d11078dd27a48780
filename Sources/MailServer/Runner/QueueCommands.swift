import NIOCore
import SMTPProtocol

/// Where a queue command's output goes: the terminal of `swiftmta queue` run beside the spool, or
/// the control socket of the server that holds it.
struct CommandOutput: Sendable {
    let emit: @Sendable (QueueControl.Answer) -> Void

    func out(_ text: String) {
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) { emit(.output(String(line))) }
    }

    func err(_ text: String) {
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) { emit(.error(String(line))) }
    }
}

/// The work of `swiftmta queue list|show|remove|run|flush`, over an open spool: the same code runs in
/// the command (when no server holds the spool) and in the server (asked over its control socket).
enum QueueCommands {
    /// sysexits(3).
    static let ok: Int32 = 0
    static let usage: Int32 = 64
    static let noInput: Int32 = 66
    static let software: Int32 = 70
    static let temporaryFailure: Int32 = 75
    static let noPermission: Int32 = 77

    // MARK: list (mailq)

    /// Sendmail's mailq: one entry per message — id, size, arrival, sender, then each recipient not
    /// yet delivered, with the reason it waits.
    static func list(_ queue: MailQueue, json: Bool, output: CommandOutput) -> Int32 {
        let messages = queue.list()
        if json {
            output.out("[" + messages.map { summaryJSON($0) }.joined(separator: ",") + "]")
            return ok
        }
        guard !messages.isEmpty else {
            output.out("\t\t\(queue.directory) is empty")
            return ok
        }
        output.out("\t\t\(queue.directory) (\(messages.count) request\(messages.count == 1 ? "" : "s"))")
        output.out("-----Q-ID----- --Size-- -----Q-Time----- ------------Sender/Recipient-----------")
        for message in messages {
            let id = "\(message.id)".padding(to: 14)
            let size = String(message.size).leftPadding(to: 8)
            output.out("\(id) \(size) \(mailqTime(message.envelope.receivedAt)) \(message.envelope.reversePath)")
            var lastReason: String?
            for (index, recipient) in message.envelope.recipients.enumerated() {
                let status = message.recipients[index]
                guard !status.isFinal else { continue }
                if case .deferred = status.disposition, let reply = status.reply, reply != lastReason {
                    output.out("                 (\(String(reply.prefix(60))))")
                    lastReason = reply
                }
                output.out("\t\t\t\t\t \(recipient.path)")
            }
        }
        output.out("\t\tTotal requests: \(messages.count)")
        return ok
    }

    // MARK: show

    /// One message (or `all`): the envelope, each recipient's state, then the text.
    static func show(_ queue: MailQueue, _ selector: String, json: Bool, output: CommandOutput) async -> Int32 {
        var messages: [QueuedMessage]
        if selector == "all" {
            messages = queue.list()
        } else {
            guard let id = QueueID(selector) else {
                output.err("\(selector) is not a queue id (ten letters and digits, as swiftmta queue list shows)")
                return usage
            }
            guard let message = queue.message(id) else {
                output.err("no message \(selector) in \(queue.directory)")
                return noInput
            }
            messages = [message]
        }
        var objects: [String] = []
        for message in messages {
            let text: String
            do {
                let body = try queue.body(of: message.id)
                var bytes: [UInt8] = []
                bytes.reserveCapacity(message.size)
                for try await piece in body { bytes += piece.readableBytesView }
                text = String(decoding: bytes, as: UTF8.self)
            } catch {
                if error.kind == .notFound { continue }
                output.err("\(message.id): \(error)")
                return software
            }
            if json {
                objects.append(detailJSON(message, text: text))
            } else {
                output.out(describe(message))
                output.out("")
                output.out(text.hasSuffix("\r\n") ? String(text.dropLast()).replacingOccurrences("\r\n", "\n") : text.replacingOccurrences("\r\n", "\n"))
            }
        }
        if json { output.out(selector == "all" ? "[" + objects.joined(separator: ",") + "]" : objects.first ?? "{}") }
        return ok
    }

    /// The envelope and states as text.
    static func describe(_ message: QueuedMessage) -> String {
        let envelope = message.envelope
        var lines = [
            "queue id \(message.id)",
            "arrived \(envelope.receivedAt)",
            "size \(message.size)",
        ]
        let client = envelope.client
        if let address = client.address {
            var from = "client [\(address)]"
            if let name = client.hostName { from = "client \(name) [\(address)]" }
            if let helo = client.heloName { from += " helo \(helo)" }
            lines.append(from + " with \(client.protocolName)")
        } else {
            lines.append("client local submission with \(client.protocolName)")
        }
        if let tls = client.tls { lines.append("tls \(tls)") }
        if let user = client.authenticatedUser { lines.append("authenticated \(user)") }
        lines.append("sender \(envelope.reversePath)")
        let parameters = mailParameters(envelope.mailParameters)
        if !parameters.isEmpty { lines.append("parameters \(parameters.joined(separator: " "))") }
        if let auth = envelope.mailParameters.authenticatedSender { lines.append("auth \(auth)") }
        for (index, recipient) in envelope.recipients.enumerated() {
            lines.append("recipient \(recipient.path) \(state(message.recipients[index]))")
        }
        return lines.joined(separator: "\n")
    }

    static func mailParameters(_ parameters: MailParameters) -> [String] {
        var words: [String] = []
        if let body = parameters.body { words.append("BODY=\(body)") }
        if parameters.smtpUTF8 { words.append("SMTPUTF8") }
        if let ret = parameters.dsnReturn { words.append("RET=\(ret.rawValue)") }
        if let envid = parameters.envelopeID { words.append("ENVID=\(envid)") }
        if let auth = parameters.authenticatedSender { words.append("AUTH=\(auth)") }
        if parameters.requireTLS { words.append("REQUIRETLS") }
        return words
    }

    /// `pending`, `deferred until … (2 attempts): 451 …`, `delivered: 250 …`, `failed: 550 …`.
    static func state(_ status: QueueRecipientStatus) -> String {
        let reply = status.reply.map { ": \($0)" } ?? ""
        switch status.disposition {
        case .pending: return "pending"
        case .deferred(let next): return "deferred until \(next) (\(status.attempts) attempt\(status.attempts == 1 ? "" : "s"))\(reply)"
        case .delivered: return "delivered\(reply)"
        case .failed: return "failed\(reply)"
        }
    }

    // MARK: remove

    static func remove(_ queue: MailQueue, _ selector: String, output: CommandOutput) async -> Int32 {
        guard let id = QueueID(selector) else {
            output.err("\(selector) is not a queue id")
            return usage
        }
        guard queue.message(id) != nil else {
            output.err("no message \(selector) in \(queue.directory)")
            return noInput
        }
        do {
            try await queue.remove(id)
        } catch {
            output.err("\(selector): \(error)")
            return error.isTemporary ? temporaryFailure : software
        }
        output.out("\(id): removed")
        return ok
    }

    // MARK: run, flush

    /// A queue run: `due`, `all` (flush) or one id; the dialogue with `verbose`, each outcome, the
    /// progress, and a summary line.
    static func run(_ runner: QueueRunner, _ selector: String, verbose: Bool, output: CommandOutput) async -> Int32 {
        let selection: QueueRunner.RunSelection
        switch selector {
        case "due": selection = .due
        case "all": selection = .all
        default:
            guard let id = QueueID(selector) else {
                output.err("\(selector) is not a queue id")
                return usage
            }
            guard runner.queue.message(id) != nil else {
                output.err("no message \(selector) in \(runner.queue.directory)")
                return noInput
            }
            selection = .message(id)
        }
        let show: @Sendable (String) -> Void = { line in output.out(line) }
        let transcript: (@Sendable (String) -> Void)? = verbose ? show : nil
        let outcome: @Sendable (String) -> Void = { line in output.out(line) }
        let progress: @Sendable (Int, Int) -> Void = { done, total in output.emit(.progress(done: done, total: total)) }
        let observer = QueueRunner.RunObserver(transcript: transcript, outcome: outcome, progress: progress)
        let report = await runner.runQueue(selection, observer: observer)
        output.out("\(report.messages) message\(report.messages == 1 ? "" : "s") attempted: \(report.delivered) recipient\(report.delivered == 1 ? "" : "s") delivered, \(report.deferred) deferred, \(report.failed) failed; \(report.remaining) message\(report.remaining == 1 ? "" : "s") in the queue")
        return ok
    }

    // MARK: - Formats

    /// `Tue Dec  1 09:03`, as mailq shows the arrival.
    static func mailqTime(_ time: QueueTimestamp) -> String {
        let text = MboxMailbox.asctime(UInt64(max(0, time.secondsSince1970)))
        // `Tue Dec  1 09:03:41 2026` → `Tue Dec  1 09:03`
        return String(text.prefix(16))
    }

    static func summaryJSON(_ message: QueuedMessage) -> String {
        let recipients = message.envelope.recipients.enumerated().map { index, recipient in
            "{\"recipient\":\(json(recipient.path.description)),\"state\":\(json(state(message.recipients[index])))}"
        }
        return "{\"id\":\(json(message.id.description)),\"size\":\(message.size),\"arrived\":\(json(message.envelope.receivedAt.description)),"
            + "\"sender\":\(json(message.envelope.reversePath.description)),\"recipients\":[\(recipients.joined(separator: ","))]}"
    }

    static func detailJSON(_ message: QueuedMessage, text: String) -> String {
        let envelope = message.envelope
        var fields = [
            "\"id\":\(json(message.id.description))", "\"size\":\(message.size)", "\"arrived\":\(json(envelope.receivedAt.description))",
            "\"sender\":\(json(envelope.reversePath.description))",
            "\"protocol\":\(json(envelope.client.protocolName))",
            "\"parameters\":[\(mailParameters(envelope.mailParameters).map(json).joined(separator: ","))]",
        ]
        if let address = envelope.client.address { fields.append("\"client\":\(json(address))") }
        if let helo = envelope.client.heloName { fields.append("\"helo\":\(json(helo))") }
        if let user = envelope.client.authenticatedUser { fields.append("\"authenticated\":\(json(user))") }
        if let auth = envelope.mailParameters.authenticatedSender { fields.append("\"auth\":\(json(auth))") }
        let recipients = envelope.recipients.enumerated().map { index, recipient in
            "{\"recipient\":\(json(recipient.path.description)),\"state\":\(json(state(message.recipients[index])))}"
        }
        fields.append("\"recipients\":[\(recipients.joined(separator: ","))]")
        fields.append("\"text\":\(json(text))")
        return "{" + fields.joined(separator: ",") + "}"
    }

    /// A JSON string literal.
    static func json(_ text: String) -> String {
        QuotedString.literal(text)
    }
}

extension String {
    fileprivate func padding(to width: Int) -> String {
        count >= width ? self : self + String(repeating: " ", count: width - count)
    }

    fileprivate func leftPadding(to width: Int) -> String {
        count >= width ? self : String(repeating: " ", count: width - count) + self
    }
}
