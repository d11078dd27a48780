/// PLAIN on the server (RFC 4616): one client message `authzid NUL authcid NUL passwd`, checked
/// with the credential verifier.
///
/// PLAIN sends the password in the clear; offer it only over TLS (``SASLPolicy``).
public struct PlainServerMechanism: SASLServerMechanism {
    public var name: SASLMechanismName { .plain }
    private let verifier: any SASLCredentialVerifier
    private var exchange: ServerExchange
    private var order = SingleMessageExchange()

    /// A PLAIN exchange checked by `verifier`.
    public init(verifier: any SASLCredentialVerifier, limits: SASLLimits = .default) {
        self.verifier = verifier
        exchange = ServerExchange(mechanism: .plain, limits: limits)
    }

    public mutating func start(initialResponse: [UInt8]?) async throws(SASLError) -> SASLServerStep {
        // RFC 4616 §2: the client sends its message in answer to an empty challenge.
        guard let message = try order.start(initialResponse, exchange: exchange) else { return .challenge([]) }
        return try await authenticate(message)
    }

    public mutating func step(_ response: [UInt8]) async throws(SASLError) -> SASLServerStep {
        try await authenticate(try order.step(response, exchange: exchange))
    }

    private mutating func authenticate(_ message: [UInt8]) async throws(SASLError) -> SASLServerStep {
        try exchange.accept(message)
        let fields = message.split(separator: 0, maxSplits: 2, omittingEmptySubsequences: false)
        guard fields.count == 3 else {
            throw SASLError(
                .malformed, "the message has \(fields.count - 1) NUL separators instead of 2", mechanism: .plain)
        }
        let authorizationIdentity = try exchange.identity(fields[0], "authorization identity", allowEmpty: true)
        let authenticationIdentity = try exchange.identity(fields[1], "authentication identity")
        let password = try exchange.password(fields[2])
        try await verifier.check(password, user: authenticationIdentity, mechanism: .plain)
        let outcome = try await verifier.authorize(authenticationIdentity, as: authorizationIdentity, mechanism: .plain)
        return .success(outcome, additionalData: nil)
    }
}
