public import SMTPProtocol

/// The answers an SMTP session sends at MAIL and RCPT: one code path for the server and for
/// `swiftmta route --client-ip …`.
extension Router {
    /// `250 2.1.0 Sender ok`.
    static let senderOK = SMTPReply(250, .senderOK, "Sender ok")
    /// `250 2.1.5 Recipient ok`.
    static let recipientOK = SMTPReply(250, .recipientOK, "Recipient ok")

    /// The answer to `MAIL FROM` (RFC 5321 §4.1.1.2), as Sendmail 8.17 gives it.
    ///
    /// Without `delay_checks`: a client refused at connect (check_relay) is refused here, with
    /// that reply, at every MAIL; then check_mail (``checkSender(_:client:)-(RoutingAddress?,_)``)
    /// judges the sender. With `delay_checks` both wait for RCPT, and the sender's verdict is
    /// kept in the answer for ``answerRecipient(_:sender:mail:session:)``.
    ///
    /// A `DISCARD` (for the client or the sender) accepts the command and discards the message:
    /// the answer's disposition is ``RoutingAnswer/Disposition/discard``.
    ///
    /// - Parameters:
    ///   - sender: the envelope sender; `nil` for the null sender `<>`.
    ///   - session: the client, and its connect verdict when the session made it.
    public func answerMail(_ sender: RoutingAddress?, session: SessionFacts) async -> RoutingAnswer {
        var trace: [RoutingStep] = []
        var discard: AccessVerdict?
        if configuration.delayChecks {
            trace.append(.rule("delay_checks: the connect and sender checks wait for RCPT"))
            let mail = await checkSender(sender.map(delayedSender), client: session.client)
            return RoutingAnswer(reply: Self.senderOK, disposition: .accept, verdict: mail, trace: trace + mail.trace)
        }
        if let client = session.client {
            let connect: AccessVerdict
            if let known = session.connectVerdict { connect = known } else { connect = await checkConnect(client) }
            trace += connect.trace
            switch connect.action {
            case .reject(let reply):
                trace.append(.rule("the client was refused at connect (check_relay): every MAIL is"))
                return RoutingAnswer(reply: reply, disposition: .refuse, verdict: connect, trace: trace)
            case .discard:
                trace.append(.rule("the client's mail is discarded (check_relay DISCARD)"))
                discard = connect
            case .ok, .relay, .pass:
                break
            }
        }
        let mail = await checkSender(sender, client: session.client)
        trace += mail.trace
        switch mail.action {
        case .reject(let reply):
            return RoutingAnswer(reply: reply, disposition: .refuse, verdict: mail, trace: trace)
        case .discard:
            return RoutingAnswer(reply: Self.senderOK, disposition: .discard, verdict: mail, trace: trace)
        case .ok, .relay, .pass:
            if let discard {
                return RoutingAnswer(reply: Self.senderOK, disposition: .discard, verdict: discard, trace: trace)
            }
            return RoutingAnswer(reply: Self.senderOK, disposition: .accept, verdict: mail, trace: trace)
        }
    }

    /// The answer to `MAIL FROM` for the server's parsed sender.
    public func answerMail(_ sender: ReversePath, session: SessionFacts) async -> RoutingAnswer {
        await answerMail(sender.mailbox.map { RoutingAddress($0) }, session: session)
    }

    /// The answer to `RCPT TO` (RFC 5321 §4.1.1.3): what Sendmail 8.17 answers, in its order.
    ///
    /// 1. The recipient's routing (``route(_:)``, Sendmail's parse before check_rcpt): a
    ///    virtusertable or mailertable `error:`, a loop or an unreadable table is the answer.
    /// 2. check_rcpt (``checkRecipient(_:sender:client:connectVerdict:senderVerdict:)-(RoutingAddress,_,_,_,_)``):
    ///    the recipient's own `To:` entries, a trusted AUTH, whether the recipient is this host's
    ///    or one it relays for, whether the client may relay; with `delay_checks`, then the sender's
    ///    and the client's verdicts. A refusal is the answer; a `DISCARD` accepts and discards the
    ///    whole message.
    /// 3. When the message is being discarded (a `DISCARD` at connect, MAIL or RCPT), the
    ///    recipient is taken without more checks.
    /// 4. For the local mailer (Sendmail's recipient()): an aliases(5) entry, or a local user
    ///    (without `+detail`), must exist: otherwise 550 5.1.1 User unknown.
    ///
    /// - Parameters:
    ///   - recipient: the recipient (`<Postmaster>` is the bare local name `postmaster`).
    ///   - sender: the transaction's sender; `nil` for `<>`.
    ///   - mail: the transaction's ``answerMail(_:session:)``, so that its verdicts are not made
    ///     again for each recipient; `nil` makes them here.
    ///   - session: the client and its connect verdict.
    public func answerRecipient(_ recipient: RoutingAddress, sender: RoutingAddress?, mail: RoutingAnswer?, session: SessionFacts) async -> RoutingAnswer {
        var trace: [RoutingStep] = []
        // Sendmail parses the address (ruleset 0) before check_rcpt: an error it routes to is the
        // answer before any access check.
        let decision = await route(recipient)
        trace += decision.trace
        if let error = decision.error {
            return RoutingAnswer(reply: error.reply, disposition: .refuse, verdict: AccessVerdict(.pass, reason: "not checked"),
                                 routing: decision, reason: "routing: \(error.kind)", trace: trace)
        }
        let senderVerdict = configuration.delayChecks ? mail?.verdict : nil
        let access = await checkRecipient(recipient, sender: sender, client: session.client,
                                          connectVerdict: session.connectVerdict, senderVerdict: senderVerdict)
        trace += access.trace
        switch access.action {
        case .reject(let reply):
            return RoutingAnswer(reply: reply, disposition: .refuse, verdict: access, trace: trace)
        case .discard:
            return RoutingAnswer(reply: Self.recipientOK, disposition: .discard, verdict: access, trace: trace)
        case .ok, .relay, .pass:
            break
        }
        if mail?.disposition == .discard {
            trace.append(.rule("the message is discarded: the recipient is taken unchecked"))
            return RoutingAnswer(reply: Self.recipientOK, disposition: .discard, verdict: access, trace: trace)
        }
        if let delivery = decision.delivery, delivery.mailer == .local {
            do {
                if let refusal = try await localUserRefusal(delivery.user, trace: &trace) {
                    return RoutingAnswer(reply: refusal.reply, disposition: .refuse, verdict: access, routing: decision,
                                         reason: "local user \(delivery.user) unknown", trace: trace)
                }
            } catch {
                trace.append(.rule("table failure: \(error.message)"))
                return RoutingAnswer(reply: Self.temporaryRoutingFailure.reply, disposition: .refuse, verdict: access, routing: decision,
                                     reason: "table failure: \(error.message)", trace: trace)
            }
        }
        return RoutingAnswer(reply: Self.recipientOK, disposition: .accept, verdict: access, routing: decision, trace: trace)
    }

    /// The answer to `RCPT TO` for the server's parsed recipient and sender.
    public func answerRecipient(_ recipient: ForwardPath, sender: ReversePath, mail: RoutingAnswer?, session: SessionFacts) async -> RoutingAnswer {
        await answerRecipient(RoutingAddress(recipient), sender: sender.mailbox.map { RoutingAddress($0) }, mail: mail, session: session)
    }
}
