/// EXTERNAL on the server (RFC 4422 Appendix A): the identity comes from outside SASL, here a
/// verified TLS client certificate (``SASLServerContext/externalIdentity``); the client's only
/// message is the authorization identity it asks for, often empty.
public struct ExternalServerMechanism: SASLServerMechanism {
    private enum State {
        case initial
        case awaitingMessage
        case done
    }

    public var name: SASLMechanismName { .external }
    private let verifier: any SASLCredentialVerifier
    private let identity: String
    private var exchange: ServerExchange
    private var state = State.initial

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
        switch state {
        case .initial:
            guard let initialResponse else {
                state = .awaitingMessage
                return .challenge([])
            }
            state = .done
            return try await authorize(initialResponse)
        case .awaitingMessage, .done:
            state = .done
            throw exchange.invalidState("the exchange has already started")
        }
    }

    public mutating func step(_ response: [UInt8]) async throws(SASLError) -> SASLServerStep {
        switch state {
        case .awaitingMessage:
            state = .done
            return try await authorize(response)
        case .initial, .done:
            state = .done
            throw exchange.invalidState("no challenge is outstanding")
        }
    }

    private mutating func authorize(_ message: [UInt8]) async throws(SASLError) -> SASLServerStep {
        try exchange.accept(message)
        let requested = try exchange.identity(message, "authorization identity", allowEmpty: true)
        return .success(try await verifier.authorize(identity, as: requested, mechanism: .external), additionalData: nil)
    }
}
