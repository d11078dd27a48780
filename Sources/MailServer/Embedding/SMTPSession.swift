public import MailAuth
public import MailTLS
public import SMTPProtocol

/// One connection's conversation, as the backend sees it (go-smtp's `Session`): the server calls
/// one method per step, in protocol order, and sends the reply each decision carries.
///
/// Every method but ``recipient(_:parameters:)`` has a default, so a backend implements only what
/// it decides: a receive-only endpoint needs ``recipient(_:parameters:)`` and ``message()`` (whose
/// default refuses every message).
///
/// ```swift
/// struct InboxSession: SMTPSession {
///     func recipient(_ path: ForwardPath, parameters: RecipientParameters) async throws -> SMTPDecision {
///         path.mailbox?.domain == .name("example.org") ? .accept : .reject(.userUnknown)
///     }
///     func message() async throws -> any SMTPMessageReceiver { MessageFile() }
/// }
/// ```
///
/// Throwing an ``SMTPRefusal`` from any method answers with its reply; any other error gives a
/// generic `451 4.3.0` with no internal text (the error is logged).
public protocol SMTPSession {
    /// The connection is open and the greeting is about to go out. Refuse it (`554`, after which
    /// only QUIT is served, RFC 5321 §3.1; or `421`, which closes) or accept it.
    mutating func connected() async throws -> SMTPDecision

    /// HELO, EHLO or LHLO (RFC 5321 §4.1.1.1), with what the client said.
    mutating func hello(_ hello: SMTPServerStateMachine.Hello) async throws -> SMTPDecision

    /// TLS is up (STARTTLS, RFC 3207): the session starts over, and the client will greet again.
    mutating func tlsEstablished(_ facts: TLSSessionFacts) async

    /// AUTH succeeded (RFC 4954): accept the identity, or refuse it (`535 5.7.8`).
    mutating func authenticated(_ authentication: SASLAuthentication) async throws -> SMTPDecision

    /// MAIL FROM (RFC 5321 §4.1.1.2). `parameters.authenticatedSender` is what the server
    /// trusts (RFC 4954 §5): the client's `AUTH=` when it authenticated, `<>` when it did not.
    mutating func mail(from path: ReversePath, parameters: MailParameters) async throws -> SMTPDecision

    /// RCPT TO (RFC 5321 §4.1.1.3).
    mutating func recipient(_ path: ForwardPath, parameters: RecipientParameters) async throws -> SMTPDecision

    /// DATA or the first BDAT: where the message goes. Throw an ``SMTPRefusal`` to refuse it
    /// before the text is sent (DATA's 354 is not given then).
    mutating func message() async throws -> any SMTPMessageReceiver

    /// VRFY (RFC 5321 §3.5.3). The default says nothing about the user: `252 2.5.2`.
    mutating func verify(_ argument: String) async throws -> SMTPDecision

    /// EXPN (RFC 5321 §3.5.3). The default refuses: `502 5.7.0`.
    mutating func expand(_ argument: String) async throws -> SMTPDecision

    /// The transaction ended (after the message, RSET, a new EHLO, STARTTLS): forget its sender
    /// and recipients.
    mutating func reset() async

    /// The connection is closing (go-smtp's `Logout`).
    mutating func close() async

    /// The client's host name, when the backend has confirmed it (a reverse lookup whose forward
    /// lookup gives the address back): the `Received:` header shows it before the address literal
    /// (RFC 5321 §4.4, `TCP-info`). The default is `nil`: the address alone.
    var clientHostName: String? { get }
}

extension SMTPSession {
    public var clientHostName: String? { nil }

    public mutating func connected() async throws -> SMTPDecision { .accept }
    public mutating func hello(_ hello: SMTPServerStateMachine.Hello) async throws -> SMTPDecision { .accept }
    public mutating func tlsEstablished(_ facts: TLSSessionFacts) async {}
    public mutating func authenticated(_ authentication: SASLAuthentication) async throws -> SMTPDecision { .accept }
    public mutating func mail(from path: ReversePath, parameters: MailParameters) async throws -> SMTPDecision { .accept }
    public mutating func message() async throws -> any SMTPMessageReceiver {
        throw SMTPRefusal(ServerReplies.noMessages)
    }
    public mutating func verify(_ argument: String) async throws -> SMTPDecision {
        .accept(ServerReplies.cannotVerify)
    }
    public mutating func expand(_ argument: String) async throws -> SMTPDecision {
        .reject(ServerReplies.expandRefused)
    }
    public mutating func reset() async {}
    public mutating func close() async {}
}
