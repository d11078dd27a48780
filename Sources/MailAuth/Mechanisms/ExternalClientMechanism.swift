/// EXTERNAL on the client (RFC 4422 Appendix A): the TLS client certificate authenticates; the
/// initial response is the authorization identity, empty to act as the certificate's identity.
public struct ExternalClientMechanism: SASLClientMechanism {
    public var name: SASLMechanismName { .external }
    private let authorizationIdentity: String
    private var started = false

    /// An EXTERNAL exchange asking to act as `authorizationIdentity` (empty: as oneself).
    public init(authorizationIdentity: String = "") {
        self.authorizationIdentity = authorizationIdentity
    }

    public mutating func start() throws(SASLError) -> [UInt8]? {
        guard !started else { throw SASLError(.invalidState, "the exchange has already started", mechanism: .external) }
        started = true
        return Array(authorizationIdentity.utf8)
    }

    public mutating func step(_ challenge: [UInt8]) throws(SASLError) -> [UInt8] {
        throw SASLError(.malformed, "the server sent a challenge after the EXTERNAL message", mechanism: .external)
    }

    public mutating func finish(additionalData: [UInt8]?) throws(SASLError) {}
}
