import Logging
import MailAuth
import MailRouting
import MailTLS
import SMTPProtocol
import Synchronization

/// Collects what `swiftmta check session` shows, in the order it happened: the client's writes,
/// the server's replies, every policy decision with its trace, TLS, the server's log lines.
///
/// The policy's decisions arrive from the session's task ( ``PolicyObserver`` ), replies and
/// client lines from the runner; a decision is always recorded before the reply it gives is
/// written, and the runner collects replies only once the session has flushed them, so the lines
/// come out in the order of the conversation.
final class SessionRecorder: PolicyObserver, Sendable {
    /// Where the session is as far as `--auth` cares, since the start or since TLS began (which
    /// starts the session over, RFC 3207 §4.2).
    enum Phase: Equatable {
        /// No EHLO or LHLO accepted yet.
        case beforeHello
        /// EHLO or LHLO accepted, not authenticated: the moment for `--auth`'s AUTH.
        case greeted
        /// `--auth`'s AUTH went out (it is not sent twice, whatever the server answered).
        case authenticationSent
        /// AUTH succeeded (the check's or the transcript's own).
        case authenticated
    }

    private struct State {
        var lines: [String] = []
        var phase = Phase.beforeHello
        var messages = 0
    }

    private let state = Mutex(State())

    var lines: [String] { state.withLock { $0.lines } }

    var phase: Phase { state.withLock { $0.phase } }

    func append(_ line: String) {
        state.withLock { $0.lines.append(line) }
    }

    func append(contentsOf lines: [String]) {
        state.withLock { $0.lines += lines }
    }

    func markAuthenticationSent() {
        state.withLock { $0.phase = .authenticationSent }
    }

    func record(_ event: PolicyEvent) {
        var lines: [String] = []
        switch event {
        case .connect(let client, let verdict):
            let name = client.hostName.map { " (\($0))" } ?? ""
            lines.append("P: connect [\(client.address)]\(name): \(verdict) (\(verdict.reason))")
            lines += verdict.trace.map { "P:   \($0)" }
        case .hello(let hello):
            if hello.kind == .ehlo || hello.kind == .lhlo {
                state.withLock { state in
                    switch state.phase {
                    case .beforeHello: state.phase = .greeted
                    case .greeted, .authenticationSent, .authenticated: break
                    }
                }
            }
        case .tlsEstablished(let facts):
            lines.append("T: TLS established: \(facts.logFields)")
            state.withLock { $0.phase = .beforeHello }
        case .authenticated(let authentication):
            lines.append("P: authenticated as \(authentication.authenticationIdentity) with \(authentication.mechanism)")
            state.withLock { $0.phase = .authenticated }
        case .mail(let path, let answer):
            lines.append("P: mail \(path): \(answer) (\(answer.reason))")
            lines += answer.trace.map { "P:   \($0)" }
        case .recipient(let path, let answer):
            lines.append("P: rcpt \(path): \(answer) (\(answer.reason))")
            if let routing = answer.routing, routing.error == nil {
                lines.append("P:   routed: \(routing)")
            }
            lines += answer.trace.map { "P:   \($0)" }
        }
        if !lines.isEmpty { append(contentsOf: lines) }
    }

    /// A message the policy accepted: counted, shown, and dropped.
    func message(_ envelope: MessageEnvelope) -> Int {
        let recipients = envelope.recipients.map { "\($0.path)" }.joined(separator: ", ")
        return state.withLock { state in
            state.messages += 1
            state.lines.append("P: message \(state.messages) from \(envelope.sender) to \(recipients): accepted (check session stores and delivers nothing)")
            return state.messages
        }
    }

    /// A log handler that records the server's log lines at `level` and above as `L:` lines.
    func logHandler(level: Logger.Level) -> some LogHandler {
        RecordingLogHandler(recorder: self, logLevel: level)
    }
}

/// swift-log's side of ``SessionRecorder``: the server's log lines as `L:` lines.
private struct RecordingLogHandler: LogHandler {
    let recorder: SessionRecorder
    var logLevel: Logger.Level
    var metadata: Logger.Metadata = [:]

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        recorder.append("L: \(event.level): \(event.message)")
    }
}
