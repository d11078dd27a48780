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
    /// What the runner needs to know of the session's state.
    struct Phase {
        /// EHLO or LHLO was accepted since TLS began (or since the start).
        var extendedHello = false
        /// AUTH succeeded since TLS began (or since the start).
        var authenticated = false
        /// `--auth`'s AUTH command went out since TLS began (or since the start).
        var authenticationInjected = false
    }

    private struct State {
        var lines: [String] = []
        var phase = Phase()
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

    func markAuthenticationInjected() {
        state.withLock { $0.phase.authenticationInjected = true }
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
                state.withLock { $0.phase.extendedHello = true }
            }
        case .tlsEstablished(let facts):
            lines.append("T: TLS established: \(facts.logFields)")
            state.withLock { $0.phase = Phase() }
        case .authenticated(let authentication):
            lines.append("P: authenticated as \(authentication.authenticationIdentity) with \(authentication.mechanism)")
            state.withLock { $0.phase.authenticated = true }
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
