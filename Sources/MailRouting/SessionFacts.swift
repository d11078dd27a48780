/// What an SMTP session knows of its client when it asks the router for the answer to MAIL
/// (``Router/answerMail(_:session:)``) and RCPT (``Router/answerRecipient(_:sender:mail:session:)``).
///
/// Make it when the client connects: its address, its verified host name and how that was found,
/// and — without `delay_checks` — the connect verdict (``Router/checkConnect(_:)``), so that it is
/// made once per session rather than at every command. Set
/// ``ClientIdentity/authenticationMechanism`` when AUTH succeeds (RFC 4954 §4).
public struct SessionFacts: Hashable, Sendable {
    /// The client; `nil` for a local submission (no network client, as `sendmail -bs` or the
    /// `sendmail` command-line interface), which Sendmail lets relay.
    public var client: ClientIdentity?
    /// The client's connect verdict, once made; `nil` makes the answers ask for it.
    public var connectVerdict: AccessVerdict?

    /// The facts of a session with `client` (`nil` for a local submission, which may relay), and
    /// its `connectVerdict` if already made (`nil`: the answers make it, at every command).
    public init(client: ClientIdentity?, connectVerdict: AccessVerdict? = nil) {
        self.client = client
        self.connectVerdict = connectVerdict
    }
}
