import MailAuth
import MailRouting
import MailTLS
import SMTPProtocol

/// What the reference policy (``PolicyBackend``) tells an observer as a session goes: each
/// decision with the trace of the lookups that made it. `swiftmta check session` prints them,
/// as Exim's `-bh` prints its ACL decisions.
///
/// The observer is called from the session's task, in the order the decisions are made and
/// before the reply each one gives is written.
protocol PolicyObserver: Sendable {
    func record(_ event: PolicyEvent)
}

/// One thing the policy decided or learnt.
enum PolicyEvent: Sendable {
    /// check_relay's verdict on the client (at connect, or with `delay_checks` at the first RCPT).
    case connect(ClientIdentity, AccessVerdict)
    /// HELO, EHLO or LHLO was accepted.
    case hello(SMTPServerStateMachine.Hello)
    /// TLS is up; the session starts over.
    case tlsEstablished(TLSSessionFacts)
    /// AUTH succeeded and the policy took the identity.
    case authenticated(SASLAuthentication)
    /// The answer at MAIL.
    case mail(ReversePath, RoutingAnswer)
    /// The answer at RCPT.
    case recipient(ForwardPath, RoutingAnswer)
}
