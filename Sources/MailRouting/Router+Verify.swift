import MailMaps
import SMTPProtocol

extension Router {
    /// What `sendmail -bv` says of `address`: it is routed, a local user's aliases(5) entry is
    /// expanded (again for each local target, as deep as ``RoutingConfiguration/maximumRewriting``),
    /// and each local user that has no alias must exist in the local-user directory.
    ///
    /// Unlike ``route(_:)`` (Sendmail's `/parse`) this asks whether local users exist; the RCPT
    /// answer asks only whether the recipient itself does (``answerRecipient(_:sender:mail:session:)``).
    public func verify(_ address: RoutingAddress) async -> RecipientVerification {
        var lines: [RecipientVerification.Line] = []
        var trace: [RoutingStep] = []
        var seen: Set<String> = []
        await expand(address, depth: 0, lines: &lines, trace: &trace, seen: &seen)
        return RecipientVerification(lines: lines, trace: trace)
    }

    private func expand(_ address: RoutingAddress, depth: Int, lines: inout [RecipientVerification.Line], trace: inout [RoutingStep], seen: inout Set<String>) async {
        let decision = await route(address)
        trace += decision.trace
        guard let delivery = decision.delivery else {
            lines.append(.init(address: address.description, delivery: nil, refusal: decision.error))
            return
        }
        guard delivery.mailer == .local else {
            lines.append(.init(address: address.description, delivery: delivery, refusal: nil))
            return
        }
        guard let targets = delivery.aliasExpansion else {
            do {
                let refusal = try await localUserRefusal(delivery.user, trace: &trace)
                lines.append(.init(address: delivery.user, delivery: refusal == nil ? delivery : nil, refusal: refusal))
            } catch {
                lines.append(.init(address: delivery.user, delivery: nil, refusal: Self.temporaryRoutingFailure))
            }
            return
        }
        guard depth < configuration.maximumRewriting, seen.insert(delivery.user).inserted else {
            trace.append(.rule("alias \(delivery.user) was already expanded: a loop"))
            lines.append(.init(address: delivery.user, delivery: nil, refusal: Self.loopError(address)))
            return
        }
        for target in targets {
            if target.hasPrefix("|") || target.hasPrefix("/") || target.lowercased().hasPrefix(":include:") {
                let mailer = target.hasPrefix("|") ? Mailer("prog") : target.hasPrefix("/") ? Mailer("*file*") : Mailer("*include*")
                let definition = configuration.mailers[.local] ?? MailerDefinition(transport: .local)
                lines.append(.init(address: target, delivery: .init(mailer: mailer, definition: definition, host: nil, user: target), refusal: nil))
                continue
            }
            if target.hasPrefix("\\") {
                // `\user`: that user's mailbox, without further aliasing.
                let user = String(target.dropFirst()).asciiLowercased
                let definition = configuration.mailers[.local] ?? MailerDefinition(transport: .local)
                do {
                    let refusal = try await localUserRefusal(user, aliases: false, trace: &trace)
                    lines.append(.init(address: user, delivery: refusal == nil ? .init(mailer: .local, definition: definition, host: nil, user: user) : nil, refusal: refusal))
                } catch {
                    lines.append(.init(address: user, delivery: nil, refusal: Self.temporaryRoutingFailure))
                }
                continue
            }
            guard let next = try? RoutingAddress(parsing: target) else {
                lines.append(.init(address: target, delivery: nil, refusal: RoutingError(.invalidAddress, reply: SMTPReply(553, .badDestinationSyntax, "Invalid address"))))
                continue
            }
            await expand(next, depth: depth + 1, lines: &lines, trace: &trace, seen: &seen)
        }
    }
}
