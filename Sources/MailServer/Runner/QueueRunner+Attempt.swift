import Logging
import MailRouting
import NIOCore
import SMTPClient
import SMTPProtocol

extension QueueRunner {
    /// Messages up to this size are read from the spool once and sent from memory to every
    /// destination; larger ones are streamed from the spool by each.
    static let bufferedBodyLimit = 256 << 10

    /// What one recipient's attempt went through, for the log line.
    struct AttemptDetail {
        var mailer = ""
        var relay: String?
    }

    /// One attempt of one message: the recipients that are due are routed, delivered, and their new
    /// states recorded; owed notifications are put in the spool; a finished message is removed.
    /// Returns when to attempt the message again (`nil` when it is gone).
    func attempt(_ id: QueueID, force: Bool, cache: ConnectionCache, observer: RunObserver? = nil) async -> QueueTimestamp? {
        let hint = hints.take(id)
        guard let message = queue.message(id) else { return nil }
        let now = clock.now()
        var due: [Int] = []
        for (index, status) in message.recipients.enumerated() where !status.isFinal {
            if force || (status.nextAttempt ?? now) <= now { due.append(index) }
        }
        let unnotified = message.recipients.indices.filter { message.recipients[$0].isFinal && !message.recipients[$0].finalNotified }
        if due.isEmpty, unnotified.isEmpty {
            if message.isFinished {
                await removeMessage(id)
                return nil
            }
            return message.nextAttempt
        }
        count { $0.attempts += 1 }

        var outcomes: [Int: RecipientOutcome] = [:]
        var details: [Int: AttemptDetail] = [:]
        if !due.isEmpty {
            let paths = due.map { message.envelope.recipients[$0].path }
            let planner = planner
            let targets: [[DeliveryTarget]]
            if let decisions = hint?.decisions, decisions.count == message.envelope.recipients.count, decisions.allSatisfy({ $0 != nil }) {
                // Routed at RCPT a moment ago: only the destinations are worked out here.
                targets = await planner.targets(for: paths, decided: due.map { decisions[$0] })
            } else {
                targets = await withTaskExecutorPreference(routingExecutor) { await planner.targets(for: paths) }
            }
            (outcomes, details) = await deliver(message, due: due, targets: targets, cache: cache, text: hint?.text)
        }
        if Task.isCancelled { return nil }

        // New states and the notifications they owe.
        var statuses = message.recipients
        var notices = PendingNotices()
        let queueSettings = configuration.queue
        let returnTime = message.envelope.receivedAt.advanced(by: queueSettings.queueReturn)
        let warnTime = message.envelope.receivedAt.advanced(by: queueSettings.queueWarn)
        for index in due {
            guard let outcome = outcomes[index] else { continue }
            var status = statuses[index]
            status.attempts += 1
            status.lastAttempt = now
            status.reply = outcome.reply
            status.remoteMTA = outcome.remote
            let notify = message.envelope.recipients[index].parameters.notify
            var logged = outcome
            switch outcome {
            case .delivered(_, _, let relayedWithoutDSN, let final):
                status.disposition = .delivered
                let owed = Self.wants(.success, notify) && (final || relayedWithoutDSN)
                status.finalNotified = !owed
                if owed { notices.success.append((index, final ? .delivered : .relayed)) }
                count { $0.delivered += 1 }
            case .permanent:
                status.disposition = .failed
                status.finalNotified = !Self.wants(.failure, notify)
                if !status.finalNotified { notices.failure.append(index) }
                count { $0.failed += 1 }
            case .temporary(let code, let reply, let remote):
                if now >= returnTime {
                    status.disposition = .failed
                    let text = "\(reply) (undeliverable for \(Self.format(queueSettings.queueReturn)): returned)"
                    status.reply = text
                    logged = .permanent(status: code, reply: text, remote: remote)
                    status.finalNotified = !Self.wants(.failure, notify)
                    if !status.finalNotified { notices.failure.append(index) }
                    count { $0.failed += 1 }
                } else {
                    status.disposition = .deferred(nextAttempt: now.advanced(by: queueSettings.retryDelay(afterAttempts: status.attempts)))
                    if !status.delayNotified, now >= warnTime {
                        if Self.wants(.delay, notify) {
                            notices.delay.append(index)
                        } else {
                            status.delayNotified = true
                        }
                    }
                    count { $0.deferred += 1 }
                }
            }
            statuses[index] = status
            log(id, message: message, index: index, outcome: logged, detail: details[index] ?? AttemptDetail(), now: now, observer: observer)
        }
        for index in unnotified {
            switch statuses[index].disposition {
            case .delivered: notices.success.append((index, statuses[index].remoteMTA == nil ? .delivered : .relayed))
            case .failed: notices.failure.append(index)
            case .pending, .deferred: break
            }
        }

        // Notifications first (each is in the spool before the states that say it was sent).
        if !notices.isEmpty {
            let sent = await notify(message, statuses: statuses, notices: notices, now: now)
            for index in sent.final { statuses[index].finalNotified = true }
            for index in sent.delay { statuses[index].delayNotified = true }
        }

        let finished = statuses.allSatisfy { $0.isFinal && $0.finalNotified }
        if finished {
            await removeMessage(id)
            return nil
        }
        var changes: [Int: QueueRecipientStatus] = [:]
        for index in statuses.indices where statuses[index] != message.recipients[index] { changes[index] = statuses[index] }
        if !changes.isEmpty {
            do {
                try await queue.update(id, recipients: changes)
            } catch {
                logger.error("\(id): cannot record the delivery state: \(error); it will be tried again")
                return now.advanced(by: queueSettings.minQueueAge)
            }
        }
        let owedNotice = statuses.contains { $0.isFinal && !$0.finalNotified }
        let next = statuses.compactMap(\.nextAttempt).min()
        if owedNotice { return min(next ?? now.advanced(by: queueSettings.minQueueAge), now.advanced(by: queueSettings.minQueueAge)) }
        return next
    }

    private func removeMessage(_ id: QueueID) async {
        do {
            try await queue.remove(id)
        } catch {
            logger.error("\(id): cannot remove the delivered message: \(error); it stays in the spool")
        }
    }

    /// Whether the recipient wants a notification of `condition`: NOTIFY absent means FAILURE and
    /// DELAY (RFC 3461 §4.1), NEVER means none.
    static func wants(_ condition: DSNNotify.Condition, _ notify: DSNNotify?) -> Bool {
        switch notify {
        case nil: condition != .success
        case .never?: false
        case .on(let conditions)?: conditions.contains(condition)
        }
    }

    /// `5d`, `4h`, `30m`, `45s`.
    static func format(_ duration: Duration) -> String {
        let seconds = duration.components.seconds
        if seconds % 86400 == 0 { return "\(seconds / 86400)d" }
        if seconds % 3600 == 0 { return "\(seconds / 3600)h" }
        if seconds % 60 == 0 { return "\(seconds / 60)m" }
        return "\(seconds)s"
    }

    /// Sendmail's delivery log line: `ID: to=<…>, delay=…, mailer=…, relay=…, dsn=…, stat=…`.
    private func log(
        _ id: QueueID, message: QueuedMessage, index: Int, outcome: RecipientOutcome, detail: AttemptDetail, now: QueueTimestamp,
        observer: RunObserver?
    ) {
        let delay = Self.clockTime(message.envelope.receivedAt.duration(to: now))
        var line = "\(id): to=\(message.envelope.recipients[index].path), delay=\(delay), mailer=\(detail.mailer)"
        if let relay = detail.relay { line += ", relay=\(relay)" }
        line += ", dsn=\(outcome.status)"
        switch outcome {
        case .delivered(let reply, _, _, _):
            line += ", stat=Sent (\(reply))"
            logger.info("\(line)")
        case .temporary(_, let reply, _):
            line += ", stat=Deferred: \(reply)"
            logger.info("\(line)")
        case .permanent(_, let reply, _):
            line += ", stat=\(reply)"
            logger.notice("\(line)")
        }
        observer?.outcome?(line)
        DeliveryMetrics.record(outcome, mailer: detail.mailer)
    }

    /// `hh:mm:ss`, with `d+` days in front when longer.
    static func clockTime(_ duration: Duration) -> String {
        let total = max(0, duration.components.seconds)
        func two(_ value: Int64) -> String { value < 10 ? "0\(value)" : "\(value)" }
        let clock = "\(two(total % 86400 / 3600)):\(two(total % 3600 / 60)):\(two(total % 60))"
        return total >= 86400 ? "\(total / 86400)+\(clock)" : clock
    }

    // MARK: - Delivering

    /// Delivers the due recipients by their targets; one outcome per recipient index.
    private func deliver(
        _ message: QueuedMessage, due: [Int], targets: [[DeliveryTarget]], cache: ConnectionCache, text: ByteBuffer?
    ) async -> ([Int: RecipientOutcome], [Int: AttemptDetail]) {
        struct Group {
            var route: SMTPRoute
            var members: [(index: Int, slot: Int, path: ForwardPath)] = []
        }
        var groups: [String: Group] = [:]
        var groupOrder: [String] = []
        var results: [Int: [RecipientOutcome?]] = [:]
        var details: [Int: AttemptDetail] = [:]
        var locals: [(index: Int, slot: Int, user: String, address: String)] = []
        for (position, index) in due.enumerated() {
            let list = targets[position]
            results[index] = Array(repeating: nil, count: list.count)
            for (slot, target) in list.enumerated() {
                switch target {
                case .smtp(let route):
                    if groups[route.key] == nil {
                        groups[route.key] = Group(route: route)
                        groupOrder.append(route.key)
                    }
                    groups[route.key]!.members.append((index, slot, route.path))
                    details[index] = AttemptDetail(mailer: route.mailer, relay: route.destination.target.description)
                case .local(let user, let address):
                    locals.append((index, slot, user, address))
                    details[index] = AttemptDetail(mailer: "local", relay: nil)
                case .discard(let mailer):
                    results[index]![slot] = .delivered(reply: "discarded", remote: nil, relayedWithoutDSN: false, final: true)
                    details[index] = AttemptDetail(mailer: mailer, relay: nil)
                case .fail(let reply):
                    results[index]![slot] = RecipientOutcome.from(reply, remote: nil)
                    if details[index] == nil { details[index] = AttemptDetail(mailer: reply.isTransientFailure ? "*temporary*" : "*error*", relay: nil) }
                }
            }
        }

        // The text: read once when small and needed by a network mailer.
        var shared: ByteBuffer? = text?.readableBytes == message.size ? text : nil
        if shared == nil, !groups.isEmpty, message.size <= Self.bufferedBodyLimit {
            do {
                shared = try await queue.body(of: message.id).collect(upTo: Self.bufferedBodyLimit)
            } catch {
                let failure = RecipientOutcome.temporary(status: .temporarySystemError, reply: "451 4.3.0 reading the queued message: \(error)", remote: nil)
                for group in groups.values { for member in group.members { results[member.index]![member.slot] = failure } }
                groups = [:]
                groupOrder = []
            }
        }
        let masquerade = await senderMasquerade(for: message, text: shared, needed: groups.values.contains { $0.route.masquerades })

        let groupList = groupOrder.compactMap { groups[$0] }
        let localList = locals
        let sharedText = shared
        let collected: [(Int, Int, RecipientOutcome, String?)] = await withTaskGroup(of: [(Int, Int, RecipientOutcome, String?)].self) { group in
            for entry in groupList {
                group.addTask {
                    await self.sendGroup(message, route: entry.route, members: entry.members, shared: sharedText, masquerade: masquerade, cache: cache)
                }
            }
            for entry in localList {
                group.addTask {
                    [(entry.index, entry.slot, await self.deliverLocally(message, user: entry.user, address: entry.address), nil)]
                }
            }
            var all: [(Int, Int, RecipientOutcome, String?)] = []
            for await part in group { all += part }
            return all
        }
        for (index, slot, outcome, relay) in collected {
            results[index]![slot] = outcome
            if let relay { details[index]?.relay = relay }
        }
        var outcomes: [Int: RecipientOutcome] = [:]
        for (index, list) in results {
            outcomes[index] = RecipientOutcome.combined(list.compactMap { $0 })
        }
        return (outcomes, details)
    }

    /// One transaction with one destination for the recipients that go there.
    private func sendGroup(
        _ message: QueuedMessage, route: SMTPRoute, members: [(index: Int, slot: Int, path: ForwardPath)], shared: ByteBuffer?,
        masquerade: SenderMasquerade, cache: ConnectionCache
    ) async -> [(Int, Int, RecipientOutcome, String?)] {
        // One RCPT per distinct address (two aliases may name the same one).
        var order: [ForwardPath] = []
        var positions: [ForwardPath: Int] = [:]
        var recipients: [SMTPEnvelope.Recipient] = []
        var memberPaths: [(Int, Int, ForwardPath)] = []
        for member in members {
            let path = member.path
            memberPaths.append((member.index, member.slot, path))
            if positions[path] == nil {
                positions[path] = order.count
                order.append(path)
                recipients.append(SMTPEnvelope.Recipient(path, parameters: message.envelope.recipients[member.index].parameters))
            }
        }
        var parameters = message.envelope.mailParameters
        parameters.size = nil
        let reversePath = route.masquerades ? masquerade.reversePath : message.envelope.reversePath
        let envelope = SMTPEnvelope(reversePath: reversePath, parameters: parameters, recipients: recipients)
        let body: DeliveryBody
        if let shared {
            body = .buffer(route.masquerades ? masquerade.rewrite(shared) : shared)
        } else {
            do {
                let stream = try queue.body(of: message.id)
                if route.masquerades, let header = masquerade.header {
                    body = .stream(stream, header: header.replacement, replacing: header.originalLength)
                } else {
                    body = .stream(stream, header: nil, replacing: 0)
                }
            } catch {
                let failure = RecipientOutcome.temporary(status: .temporarySystemError, reply: "451 4.3.0 reading the queued message: \(error)", remote: nil)
                return memberPaths.map { ($0.0, $0.1, failure, nil) }
            }
        }
        let outcome = await cache.send(envelope, body: body, key: route.key, destination: route.destination)
        var perPath: [RecipientOutcome] = []
        var relay: String?
        switch outcome {
        case .success(let result):
            relay = result.server.description
            for (position, _) in order.enumerated() {
                guard position < result.recipients.count else {
                    perPath.append(.temporary(status: .temporarySystemError, reply: "451 4.3.0 no answer for this recipient", remote: relay))
                    continue
                }
                let answer = result.recipients[position]
                var reply = answer.reply
                if answer.isAccepted, let final = result.messageReply, route.destination.dialect != .lmtp { reply = final }
                perPath.append(RecipientOutcome.from(
                    reply, remote: result.server.host, relayedWithoutDSN: result.droppedDSNParameters || !result.server.capabilities.contains(.dsn),
                    final: route.isFinalDelivery))
            }
        case .failure(let error):
            relay = error.server
            let remote = error.server.map { String($0.prefix { $0 != "[" }) }
            let reply = error.reply ?? SMTPReply(error.isTemporary ? 451 : 554, error.isTemporary ? .badConnection : EnhancedStatusCode(5, 4, 0)!, "\(error.stage): \(error.message)")
            let text = error.reply == nil ? reply.description : "\(reply) (\(error.stage): \(error.message))"
            let partial = error.partialResult
            for (position, _) in order.enumerated() {
                if let partial, position < partial.recipients.count, partial.recipients[position].status == .permanentFailure {
                    perPath.append(RecipientOutcome.from(partial.recipients[position].reply, remote: partial.server.host))
                } else if error.isTemporary || error.reply?.isTransientFailure == true {
                    perPath.append(.temporary(status: reply.enhancedCode ?? .temporarySystemError, reply: text, remote: remote))
                } else {
                    perPath.append(.permanent(status: reply.enhancedCode ?? EnhancedStatusCode(5, 0, 0)!, reply: text, remote: remote))
                }
            }
        }
        return memberPaths.map { ($0.0, $0.1, perPath[positions[$0.2]!], relay) }
    }

    /// The local mailer for one user.
    private func deliverLocally(_ message: QueuedMessage, user: String, address: String) async -> RecipientOutcome {
        let body: QueueMessageBody
        do {
            body = try queue.body(of: message.id)
        } catch {
            return .temporary(status: .temporarySystemError, reply: "451 4.3.0 reading the queued message: \(error)", remote: nil)
        }
        do {
            let path = try await localAgent.deliver(user: user, recipient: address, reversePath: message.envelope.reversePath, body: body)
            return .delivered(reply: "250 2.0.0 delivered to \(path)", remote: nil, relayedWithoutDSN: false, final: true)
        } catch {
            let code = error.isTemporary ? 450 : 550
            if error.isTemporary {
                return .temporary(status: error.status, reply: "\(code) \(error.status) \(error.message)", remote: nil)
            }
            return .permanent(status: error.status, reply: "\(code) \(error.status) \(error.message)", remote: nil)
        }
    }
}

/// The notifications one attempt owes, by recipient index.
struct PendingNotices {
    var failure: [Int] = []
    var delay: [Int] = []
    var success: [(Int, DeliveryStatusReport.Action)] = []

    var isEmpty: Bool { failure.isEmpty && delay.isEmpty && success.isEmpty }
}
