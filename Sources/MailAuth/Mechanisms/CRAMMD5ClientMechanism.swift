/// CRAM-MD5 on the client (RFC 2195): answers the server's challenge with
/// `user SP hex(HMAC-MD5(password, challenge))`.
public struct CRAMMD5ClientMechanism: SASLClientMechanism {
    private enum State {
        case initial
        case awaitingChallenge
        case done
    }

    public var name: SASLMechanismName { .cramMD5 }
    private let credentials: SASLClientCredentials
    private var state = State.initial

    /// A CRAM-MD5 exchange with `credentials` (the authorization identity is ignored: CRAM-MD5 has
    /// none).
    public init(credentials: SASLClientCredentials) {
        self.credentials = credentials
    }

    public mutating func start() throws(SASLError) -> [UInt8]? {
        switch state {
        case .initial:
            state = .awaitingChallenge
            return nil
        case .awaitingChallenge, .done:
            state = .done
            throw SASLError(.invalidState, "the exchange has already started", mechanism: .cramMD5)
        }
    }

    public mutating func step(_ challenge: [UInt8]) throws(SASLError) -> [UInt8] {
        switch state {
        case .awaitingChallenge:
            state = .done
            guard !challenge.isEmpty else {
                throw SASLError(.malformed, "the server's challenge is empty", mechanism: .cramMD5)
            }
            let digest = Digests.hmacMD5(key: credentials.password.bytes, challenge)
            return Array("\(credentials.authenticationIdentity) \(Bytes.hex(digest))".utf8)
        case .initial, .done:
            state = .done
            throw SASLError(.malformed, "the server sent a second CRAM-MD5 challenge", mechanism: .cramMD5)
        }
    }

    public mutating func finish(additionalData: [UInt8]?) throws(SASLError) {
        switch state {
        case .done: return
        case .initial, .awaitingChallenge:
            throw SASLError(.serverAuthenticationFailed, "the server reported success before its challenge", mechanism: .cramMD5)
        }
    }
}
