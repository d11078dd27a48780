/// The client side of one SASL authentication exchange (RFC 4422 §3), as an SMTP client drives it
/// with stored credentials: an optional initial response, then one response per challenge.
///
/// A mechanism moves bytes only; the SMTP layer base64-encodes responses and decodes challenges.
/// No call blocks the caller's thread: ``step(_:)`` is async because SCRAM's answer needs PBKDF2
/// over the server's iteration count, which runs on MailAuth's key-derivation pool
/// (`WorkerPool.keyDerivation`); the other mechanisms answer at once. One value serves one exchange.
public protocol SASLClientMechanism: Sendable {
    /// The mechanism's name.
    var name: SASLMechanismName { get }

    /// The initial response to send with the `AUTH` command (RFC 4422 §3.3, RFC 4954 §4), or `nil`
    /// for mechanisms where the server speaks first (LOGIN, CRAM-MD5, DIGEST-MD5). An empty array is
    /// an empty initial response (`AUTH EXTERNAL =`). A client that chooses not to send the
    /// initial response inline sends it in answer to the server's first, empty challenge instead.
    mutating func start() throws(SASLError) -> [UInt8]?

    /// The response to the server's challenge.
    ///
    /// - Throws: ``SASLError``; ``SASLError/Kind/temporaryFailure`` when work it needs could not
    ///   run (the key-derivation pool is full or late).
    mutating func step(_ challenge: [UInt8]) async throws(SASLError) -> [UInt8]

    /// Called when the server reports success (SMTP `235`), with the additional data that came
    /// with it, if any (RFC 4422 §3.6). Mechanisms with mutual authentication throw
    /// ``SASLError/Kind/serverAuthenticationFailed`` here when the server never proved itself.
    mutating func finish(additionalData: [UInt8]?) throws(SASLError)
}
