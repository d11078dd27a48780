import MailAuth

/// `swiftmta check session --auth MECH:USER`: the server's own SASL backend, except that one AUTH
/// command — the one the check sends, recognised by its initial response, a random token no
/// client could know — succeeds at once as USER. Everything else (which mechanisms are offered
/// before and under TLS, the 538 for a plaintext mechanism before TLS, the policy that then sees
/// USER and the mechanism, TRUST_AUTH_MECH) is the server's, as it would be after a real
/// exchange (RFC 4954 §4, §6). Any other AUTH the transcript sends runs the real backend.
struct SimulatedAuthentication: SASLServerBackend {
    let backend: any SASLServerBackend
    let mechanism: SASLMechanismName
    let user: String
    let token: [UInt8]

    var mechanisms: [SASLMechanismName] { backend.mechanisms }

    func makeMechanism(_ mechanism: SASLMechanismName, context: SASLServerContext) throws(SASLError) -> any SASLServerMechanism {
        guard mechanism == self.mechanism else { return try backend.makeMechanism(mechanism, context: context) }
        return SimulatedExchange(name: mechanism, user: user, token: token, backend: backend, context: context)
    }
}

/// The exchange of ``SimulatedAuthentication``'s mechanism: the token succeeds, anything else
/// goes to the real mechanism.
private struct SimulatedExchange: SASLServerMechanism {
    let name: SASLMechanismName
    let user: String
    let token: [UInt8]
    let backend: any SASLServerBackend
    let context: SASLServerContext
    var real: (any SASLServerMechanism)?

    init(name: SASLMechanismName, user: String, token: [UInt8], backend: any SASLServerBackend, context: SASLServerContext) {
        self.name = name
        self.user = user
        self.token = token
        self.backend = backend
        self.context = context
    }

    mutating func start(initialResponse: [UInt8]?) async throws(SASLError) -> SASLServerStep {
        if initialResponse == token {
            return .success(SASLAuthentication(mechanism: name, authenticationIdentity: user, authorizationIdentity: user), additionalData: nil)
        }
        var exchange = try backend.makeMechanism(name, context: context)
        let step = try await exchange.start(initialResponse: initialResponse)
        real = exchange
        return step
    }

    mutating func step(_ response: [UInt8]) async throws(SASLError) -> SASLServerStep {
        guard var exchange = real else { throw SASLError(.invalidState, "a response after the exchange ended", mechanism: name) }
        let step = try await exchange.step(response)
        real = exchange
        return step
    }
}
