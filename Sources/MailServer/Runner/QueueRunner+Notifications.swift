import Logging
import NIOCore
import SMTPProtocol

extension QueueRunner {
    /// Puts the notifications an attempt owes into the spool: to the envelope sender, or for a
    /// failed message from `<>` to the postmaster; none to `<>` (RFC 5321 §6.1, RFC 3461 §6.2).
    /// Returns the recipients whose notifications are done (sent, or not to be sent).
    func notify(
        _ message: QueuedMessage, statuses: [QueueRecipientStatus], notices: PendingNotices, now: QueueTimestamp
    ) async -> (final: [Int], delay: [Int]) {
        var final: [Int] = []
        var delay: [Int] = []
        let envelope = message.envelope
        guard let sender = envelope.reversePath.mailbox else {
            // A bounce (or other message from <>) that failed: the postmaster hears of it once; a
            // notice to the postmaster that fails is only logged (no loop of notices).
            let failures = notices.failure.filter { !Self.isPostmaster(envelope.recipients[$0].path) }
            if !failures.isEmpty {
                let postmaster = (try? Mailbox(parsing: "postmaster@\(configuration.hostname)"))
                if let postmaster, await send(.failure, about: message, recipients: failures, statuses: statuses, to: postmaster,
                                              path: ForwardPath(.postmaster), now: now) {
                    final += failures
                }
            }
            for index in notices.failure where Self.isPostmaster(envelope.recipients[index].path) {
                logger.error("\(message.id): a message from <> to the postmaster failed: \(statuses[index].reply ?? "") (not notified again)")
                final.append(index)
            }
            final += notices.success.map(\.0)
            delay += notices.delay
            return (final, delay)
        }
        let path = ForwardPath(mailbox: sender)
        if !notices.failure.isEmpty,
           await send(.failure, about: message, recipients: notices.failure, statuses: statuses, to: sender, path: path, now: now) {
            final += notices.failure
        }
        if !notices.delay.isEmpty,
           await send(.delay, about: message, recipients: notices.delay, statuses: statuses, to: sender, path: path, now: now) {
            delay += notices.delay
        }
        if !notices.success.isEmpty {
            let actions = Dictionary(notices.success, uniquingKeysWith: { first, _ in first })
            if await send(.success, about: message, recipients: notices.success.map(\.0), statuses: statuses, to: sender, path: path,
                          now: now, actions: actions) {
                final += notices.success.map(\.0)
            }
        }
        return (final, delay)
    }

    /// Whether a recipient is the postmaster: `<Postmaster>`, or `postmaster@` one of this host's names.
    static func isPostmaster(_ path: ForwardPath) -> Bool {
        switch path.recipient {
        case .postmaster: true
        case .mailbox(let mailbox): mailbox.localPart.unquoted.lowercased() == "postmaster"
        }
    }

    /// Composes one report (RFC 3464, ``DeliveryStatusReport``) and commits it to the spool from
    /// `<>`; `true` once it is there.
    private func send(
        _ kind: DeliveryStatusReport.Kind, about message: QueuedMessage, recipients indices: [Int], statuses: [QueueRecipientStatus],
        to recipient: Mailbox, path: ForwardPath, now: QueueTimestamp, actions: [Int: DeliveryStatusReport.Action] = [:]
    ) async -> Bool {
        let envelope = message.envelope
        let returnUntil = envelope.receivedAt.advanced(by: configuration.queue.queueReturn)
        let blocks = indices.map { index -> DeliveryStatusReport.Recipient in
            let status = statuses[index]
            let rcpt = envelope.recipients[index]
            let action: DeliveryStatusReport.Action
            let code: EnhancedStatusCode
            switch kind {
            case .failure:
                action = .failed
                code = Self.statusCode(status.reply, default: EnhancedStatusCode(5, 0, 0)!).withClass(5)
            case .delay:
                action = .delayed
                code = Self.statusCode(status.reply, default: EnhancedStatusCode(4, 0, 0)!).withClass(4)
            case .success:
                action = actions[index] ?? .delivered
                code = .success
            }
            let final: String
            switch rcpt.path.recipient {
            case .mailbox(let mailbox): final = mailbox.quoted
            case .postmaster: final = "postmaster"
            }
            return DeliveryStatusReport.Recipient(
                originalRecipient: rcpt.parameters.originalRecipient, finalRecipient: final, action: action, status: code,
                remoteMTA: status.remoteMTA, diagnostic: status.reply,
                lastAttempt: status.lastAttempt.map { UInt64(max(0, $0.secondsSince1970)) },
                willRetryUntil: kind == .delay ? UInt64(max(0, returnUntil.secondsSince1970)) : nil)
        }
        let writer: QueueMessageWriter
        do {
            writer = try queue.beginMessage()
        } catch {
            logger.error("\(message.id): cannot queue a delivery status notification: \(error); it will be tried again")
            return false
        }
        let report = DeliveryStatusReport(
            kind: kind, reportingMTA: configuration.hostname, recipientOfReport: recipient,
            envelopeID: envelope.mailParameters.envelopeID, arrivalDate: UInt64(max(0, envelope.receivedAt.secondsSince1970)),
            returnContent: envelope.mailParameters.dsnReturn, internationalized: envelope.mailParameters.smtpUTF8, recipients: blocks,
            date: UInt64(max(0, now.secondsSince1970)), uniqueToken: writer.id.description)
        // The part of the original that goes back: whole (small, RET=FULL) or its header.
        var original: [UInt8] = []
        do {
            let body = try queue.body(of: message.id)
            if report.returnsWholeMessage(originalSize: message.size) {
                original = Array(try await body.collect(upTo: report.returnedMessageLimit).readableBytesView)
            } else {
                for try await piece in body {
                    original += piece.readableBytesView
                    if SenderMasquerade.headerLength(original) != nil || original.count >= SenderMasquerade.headerLimit { break }
                }
            }
        } catch {
            logger.warning("\(message.id): the original could not be read for its notification: \(error)")
        }
        var text: [UInt8] = []
        text.reserveCapacity(original.count + 4096)
        var served = false
        do {
            try report.write(originalSize: message.size, original: {
                guard !served else { return nil }
                served = true
                return original
            }, to: { text += $0 })
        } catch {
            writer.abort()
            return false
        }
        var parameters = MailParameters()
        parameters.smtpUTF8 = envelope.mailParameters.smtpUTF8
        let notification = QueueEnvelope(
            reversePath: .null, mailParameters: parameters, recipients: [SMTPEnvelope.Recipient(path)],
            client: QueueEnvelope.Client(protocolName: "local"), receivedAt: now)
        let id: QueueID
        do {
            try await writer.append(ByteBuffer(bytes: text))
            id = try await writer.commit(notification)
        } catch {
            logger.error("\(message.id): cannot queue a delivery status notification: \(error); it will be tried again")
            return false
        }
        count { $0.notifications += 1 }
        let what: String
        switch kind {
        case .failure: what = "return to sender"
        case .delay: what = "delayed"
        case .success: what = "success"
        }
        logger.info("\(message.id): \(id): DSN: \(what): \(indices.map { envelope.recipients[$0].path.description }.joined(separator: ", ")) to \(path)")
        submitted(id)
        return true
    }

    /// The enhanced status code in a reply text (`550 5.1.1 …`), or `default`.
    static func statusCode(_ reply: String?, default fallback: EnhancedStatusCode) -> EnhancedStatusCode {
        guard let reply else { return fallback }
        let words = reply.split(separator: " ", maxSplits: 2)
        guard words.count >= 2, let code = EnhancedStatusCode(words[1]) else { return fallback }
        return code
    }
}
