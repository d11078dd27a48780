/// The server side of one SASL authentication exchange (RFC 4422 §3): it reads the client's
/// messages as bytes and answers with challenges until it succeeds or throws.
///
/// A mechanism moves bytes only: the SMTP layer decodes the client's base64 lines, handles the
/// `*` cancel (RFC 4954 §4), and encodes challenges. One value serves one exchange; after success or
/// after any thrown error it is over and every further call throws ``SASLError/Kind/invalidState``.
///
/// The calls are `async` because verifying a credential may consult a store (a map, PAM,
/// saslauthd). Native mechanisms never block the calling thread; the Cyrus bridge runs libsasl2 on
/// threads of its own (see ``CyrusSASLServer``).
public protocol SASLServerMechanism: Sendable {
    /// The mechanism's name.
    var name: SASLMechanismName { get }

    /// Begins the exchange with the client's initial response (RFC 4422 §3.3), or `nil` when the
    /// client sent none (SMTP `AUTH NAME` without a second argument). An empty initial response
    /// (SMTP `AUTH NAME =`) is an empty array, not `nil`.
    mutating func start(initialResponse: [UInt8]?) async throws(SASLError) -> SASLServerStep

    /// Consumes the client's response to the last challenge.
    mutating func step(_ response: [UInt8]) async throws(SASLError) -> SASLServerStep
}
