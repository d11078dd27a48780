/// What a client hands the server for one message: the reverse path, the recipients, and their
/// parameters (RFC 5321 §2.3.1).
public struct SMTPEnvelope: Hashable, Sendable {
    /// One recipient with its RCPT parameters.
    public struct Recipient: Hashable, Sendable {
        /// RCPT TO's path.
        public var path: ForwardPath
        /// RCPT TO's parameters (RFC 3461 §4.1, §4.2: NOTIFY, ORCPT).
        public var parameters: RecipientParameters

        /// The recipient `path`, sent with `parameters` (none by default).
        public init(_ path: ForwardPath, parameters: RecipientParameters = RecipientParameters()) {
            self.path = path
            self.parameters = parameters
        }
    }

    /// MAIL FROM's path.
    public var reversePath: ReversePath
    /// MAIL FROM's parameters. The client state machine adds SIZE when it knows the size and the
    /// server offers SIZE.
    public var parameters: MailParameters
    /// The recipients, in order; at least one.
    public var recipients: [Recipient]

    /// An envelope from `reversePath` with MAIL's `parameters` for `recipients`. Nothing is checked
    /// here; ``SMTPClientStateMachine/send(_:)`` refuses one without recipients (RFC 5321 §3.3).
    public init(reversePath: ReversePath, parameters: MailParameters = MailParameters(), recipients: [Recipient]) {
        self.reversePath = reversePath
        self.parameters = parameters
        self.recipients = recipients
    }
}
