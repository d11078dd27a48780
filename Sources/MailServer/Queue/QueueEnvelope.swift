public import SMTPProtocol

/// Everything the spool keeps about a message besides its text: the SMTP envelope as the client
/// gave it (RFC 5321 §2.3.1 — the reverse path and MAIL parameters, each recipient with its RCPT
/// parameters, including RFC 3461's NOTIFY and ORCPT and the message's RET and ENVID), who sent it
/// and when. The queue runner delivers from this alone; RFC 3464's delivery status
/// notifications take their Arrival-Date, Received-From-MTA, Original-Envelope-Id and
/// Original-Recipient fields from it.
public struct QueueEnvelope: Hashable, Sendable {
    /// Who handed the message over: the facts a `Received:` line (RFC 5321 §4.4) and the logs show.
    public struct Client: Hashable, Sendable {
        /// The client's IP address as text (`192.0.2.1`, `2001:db8::1`); `nil` for a local submission.
        public var address: String?
        /// The client's host name from reverse DNS, when it was verified.
        public var hostName: String?
        /// The name the client gave in HELO, EHLO or LHLO.
        public var heloName: String?
        /// RFC 3848's protocol keyword for the `Received:` line's `with` clause: `SMTP`, `ESMTP`,
        /// `ESMTPS`, `ESMTPA`, `ESMTPSA`, `LMTP`, or `local` for a local submission.
        public var protocolName: String
        /// The SASL identity the client authenticated as (RFC 4954), if it did.
        public var authenticatedUser: String?
        /// The TLS protocol and cipher (`TLSv1.3 TLS_AES_256_GCM_SHA384`) when the session used TLS.
        public var tls: String?

        /// The facts of a session; `protocolName` is RFC 3848's keyword.
        public init(
            address: String? = nil, hostName: String? = nil, heloName: String? = nil, protocolName: String = "ESMTP",
            authenticatedUser: String? = nil, tls: String? = nil
        ) {
            self.address = address
            self.hostName = hostName
            self.heloName = heloName
            self.protocolName = protocolName
            self.authenticatedUser = authenticatedUser
            self.tls = tls
        }
    }

    /// MAIL FROM's reverse path (RFC 5321 §4.1.1.2); `<>` for a bounce.
    public var reversePath: ReversePath
    /// MAIL FROM's parameters: SIZE, BODY, SMTPUTF8, RET, ENVID, AUTH=, REQUIRETLS and others.
    public var mailParameters: MailParameters
    /// The recipients in RCPT order, each with its parameters (RFC 3461 §4.1 NOTIFY, §4.2 ORCPT).
    /// Their delivery state is kept beside them, by position (``QueueRecipientStatus``).
    public var recipients: [SMTPEnvelope.Recipient]
    /// Who sent the message.
    public var client: Client
    /// When the message was accepted.
    public var receivedAt: QueueTimestamp

    /// An envelope from its parts.
    public init(
        reversePath: ReversePath, mailParameters: MailParameters = MailParameters(),
        recipients: [SMTPEnvelope.Recipient], client: Client, receivedAt: QueueTimestamp = .now
    ) {
        self.reversePath = reversePath
        self.mailParameters = mailParameters
        self.recipients = recipients
        self.client = client
        self.receivedAt = receivedAt
    }

    /// The envelope of an SMTP transaction, with the client and the arrival time.
    public init(_ envelope: SMTPEnvelope, client: Client, receivedAt: QueueTimestamp = .now) {
        self.init(
            reversePath: envelope.reversePath, mailParameters: envelope.parameters, recipients: envelope.recipients,
            client: client, receivedAt: receivedAt)
    }

    /// The SMTP envelope, as a client sends it on (MAIL and RCPT commands).
    public var smtpEnvelope: SMTPEnvelope {
        SMTPEnvelope(reversePath: reversePath, parameters: mailParameters, recipients: recipients)
    }
}
