/// EXTERNAL on the server (RFC 4422 Appendix A): the identity comes from outside SASL, here a
/// verified TLS client certificate (``SASLServerContext/externalIdentity``); the client's only
/// message is the authorization identity it asks for, often empty.
public struct ExternalServerMechanism: SASLServerMechanism {
    public var name: SASLMechanismName { .external }
    private let verifier: any SASLCredentialVerifier
    private let identity: String
    private var exchange: ServerExchange
    private var order = SingleMessageExchange()

    /// An EXTERNAL exchange for a session whose TLS layer established `context.externalIdentity`.
    ///
    /// - Throws: ``SASLError/Kind/mechanismUnavailable`` when the session has no external identity.
    public init(
        verifier: any SASLCredentialVerifier, context: SASLServerContext, limits: SASLLimits = .default
    ) throws(SASLError) {
        guard let identity = context.externalIdentity, !identity.isEmpty else {
            throw SASLError(.mechanismUnavailable, "no identity was established outside SASL (no client certificate)", mechanism: .external)
        }
        self.verifier = verifier
        self.identity = identity
        exchange = ServerExchange(mechanism: .external, limits: limits)
    }

    public mutating func start(initialResponse: [UInt8]?) async throws(SASLError) -> SASLServerStep {
        guard let message = try order.start(initialResponse, exchange: exchange) else { return .challenge([]) }
        return try await authorize(message)
    }

    public mutating func step(_ response: [UInt8]) async throws(SASLError) -> SASLServerStep {
        try await authorize(try order.step(response, exchange: exchange))
    }

    private mutating func authorize(_ message: [UInt8]) async throws(SASLError) -> SASLServerStep {
        try exchange.accept(message)
        let requested = try exchange.identity(message, "authorization identity", allowEmpty: true)
        return .success(try await verifier.authorize(identity, as: requested, mechanism: .external), additionalData: nil)
    }
}
