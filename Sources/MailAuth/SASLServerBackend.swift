/// What runs a server's AUTH exchanges: a set of mechanisms and a way to start one.
///
/// Two implementations: ``SASLNativeServer`` (MailAuth's own mechanisms over a
/// ``SASLCredentialVerifier``) and ``CyrusSASLServer`` (libsasl2's plugins over sasldb2,
/// saslauthd or PAM). An SMTP server offers the intersection of ``mechanisms`` and its
/// ``SASLPolicy``, and calls ``makeMechanism(_:context:)`` for each `AUTH` command.
public protocol SASLServerBackend: Sendable {
    /// The mechanisms this backend can run, in its order of preference.
    var mechanisms: [SASLMechanismName] { get }

    /// A fresh exchange of `mechanism` for a session described by `context`.
    ///
    /// - Throws: ``SASLError/Kind/mechanismUnavailable`` when the backend cannot run it (unknown,
    ///   or needing TLS channel binding or a client certificate the session lacks).
    func makeMechanism(_ mechanism: SASLMechanismName, context: SASLServerContext) throws(SASLError)
        -> any SASLServerMechanism
}
