/// LOGIN on the client (draft-murchison-sasl-login-00): the user name in answer to the first
/// prompt, the password in answer to the second, whatever the prompts say (servers word them
/// differently).
public struct LoginClientMechanism: SASLClientMechanism {
    private enum State {
        case initial
        case awaitingFirstPrompt
        case awaitingSecondPrompt
        case done
    }

    public var name: SASLMechanismName { .login }
    private let credentials: SASLClientCredentials
    private var state = State.initial

    /// A LOGIN exchange with `credentials` (the authorization identity is ignored: LOGIN has none).
    public init(credentials: SASLClientCredentials) {
        self.credentials = credentials
    }

    public mutating func start() throws(SASLError) -> [UInt8]? {
        switch state {
        case .initial:
            state = .awaitingFirstPrompt
            return nil
        case .awaitingFirstPrompt, .awaitingSecondPrompt, .done:
            state = .done
            throw SASLError(.invalidState, "the exchange has already started", mechanism: .login)
        }
    }

    public mutating func step(_ challenge: [UInt8]) throws(SASLError) -> [UInt8] {
        switch state {
        case .awaitingFirstPrompt:
            state = .awaitingSecondPrompt
            return Array(credentials.authenticationIdentity.utf8)
        case .awaitingSecondPrompt:
            state = .done
            return credentials.password.bytes
        case .initial, .done:
            state = .done
            throw SASLError(.malformed, "the server sent more than two LOGIN prompts", mechanism: .login)
        }
    }

    public mutating func finish(additionalData: [UInt8]?) throws(SASLError) {
        switch state {
        case .done: return
        case .initial, .awaitingFirstPrompt, .awaitingSecondPrompt:
            throw SASLError(.serverAuthenticationFailed, "the server reported success before asking for the password", mechanism: .login)
        }
    }
}
