/// LOGIN on the server (draft-murchison-sasl-login-00): the prompts `Username:` and `Password:`,
/// as Outlook and Cyrus SASL exchange them. An initial response is taken as the user name.
///
/// LOGIN sends the password in the clear; offer it only over TLS (``SASLPolicy``).
public struct LoginServerMechanism: SASLServerMechanism {
    private enum State {
        case initial
        case awaitingUserName
        case awaitingPassword(user: String)
        case done
    }

    /// The first prompt, `Username:`.
    public static let userNamePrompt = Array("Username:".utf8)
    /// The second prompt, `Password:`.
    public static let passwordPrompt = Array("Password:".utf8)

    public var name: SASLMechanismName { .login }
    private let verifier: any SASLCredentialVerifier
    private var exchange: ServerExchange
    private var state = State.initial

    /// A LOGIN exchange checked by `verifier`.
    public init(verifier: any SASLCredentialVerifier, limits: SASLLimits = .default) {
        self.verifier = verifier
        exchange = ServerExchange(mechanism: .login, limits: limits)
    }

    public mutating func start(initialResponse: [UInt8]?) async throws(SASLError) -> SASLServerStep {
        switch state {
        case .initial:
            guard let initialResponse, !initialResponse.isEmpty else {
                state = .awaitingUserName
                return .challenge(Self.userNamePrompt)
            }
            state = .done
            return try acceptUserName(initialResponse)
        case .awaitingUserName, .awaitingPassword, .done:
            state = .done
            throw exchange.invalidState("the exchange has already started")
        }
    }

    public mutating func step(_ response: [UInt8]) async throws(SASLError) -> SASLServerStep {
        switch state {
        case .awaitingUserName:
            state = .done
            return try acceptUserName(response)
        case .awaitingPassword(let user):
            state = .done
            try exchange.accept(response)
            let password = try exchange.password(response)
            try await verifier.check(password, user: user, mechanism: .login)
            return .success(try await verifier.authorize(user, as: nil, mechanism: .login), additionalData: nil)
        case .initial, .done:
            state = .done
            throw exchange.invalidState("no challenge is outstanding")
        }
    }

    private mutating func acceptUserName(_ response: [UInt8]) throws(SASLError) -> SASLServerStep {
        try exchange.accept(response)
        let user = try exchange.identity(response, "user name")
        state = .awaitingPassword(user: user)
        return .challenge(Self.passwordPrompt)
    }
}
