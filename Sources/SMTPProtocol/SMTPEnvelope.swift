/// What a client hands the server for one message: the reverse path, the recipients, and their
/// parameters (RFC 5321 §2.3.1).
public struct SMTPEnvelope: Hashable, Sendable {
    /// One recipient with its RCPT parameters.
    public struct Recipient: Hashable, Sendable {
        public var path: ForwardPath
        public var parameters: RecipientParameters

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

    public init(reversePath: ReversePath, parameters: MailParameters = MailParameters(), recipients: [Recipient]) {
        self.reversePath = reversePath
        self.parameters = parameters
        self.recipients = recipients
    }
}
