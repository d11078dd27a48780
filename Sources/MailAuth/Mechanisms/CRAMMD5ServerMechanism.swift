#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// CRAM-MD5 on the server (RFC 2195): a unique challenge `<random.time@host>`, answered with
/// `user SP hex(HMAC-MD5(password, challenge))`.
///
/// The store must hand out the password itself (``SASLStoredCredential/password(_:)``).
public struct CRAMMD5ServerMechanism: SASLServerMechanism {
    private enum State {
        case initial
        case awaitingResponse(challenge: [UInt8])
        case done
    }

    public var name: SASLMechanismName { .cramMD5 }
    private let verifier: any SASLCredentialVerifier
    private var exchange: ServerExchange
    private var state = State.initial
    private let challenge: [UInt8]

    /// A CRAM-MD5 exchange; `serverName` ends the challenge as RFC 2195 §2 suggests.
    public init(verifier: any SASLCredentialVerifier, serverName: String, limits: SASLLimits = .default) {
        var generator = SystemRandomNumberGenerator()
        let random = UInt64.random(in: 0 ... .max, using: &generator)
        self.init(verifier: verifier, challenge: "<\(random).\(time(nil))@\(serverName)>", limits: limits)
    }

    /// An exchange with a given challenge, for RFC 2195's worked example.
    init(verifier: any SASLCredentialVerifier, challenge: String, limits: SASLLimits = .default) {
        self.verifier = verifier
        self.challenge = Array(challenge.utf8)
        exchange = ServerExchange(mechanism: .cramMD5, limits: limits)
    }

    public mutating func start(initialResponse: [UInt8]?) async throws(SASLError) -> SASLServerStep {
        switch state {
        case .initial:
            guard initialResponse == nil else {
                state = .done
                throw SASLError(.malformed, "CRAM-MD5 takes no initial response", mechanism: .cramMD5)
            }
            state = .awaitingResponse(challenge: challenge)
            return .challenge(challenge)
        case .awaitingResponse, .done:
            state = .done
            throw exchange.invalidState("the exchange has already started")
        }
    }

    public mutating func step(_ response: [UInt8]) async throws(SASLError) -> SASLServerStep {
        switch state {
        case .awaitingResponse(let challenge):
            state = .done
            return try await verify(response, challenge: challenge)
        case .initial, .done:
            state = .done
            throw exchange.invalidState("no challenge is outstanding")
        }
    }

    private mutating func verify(_ response: [UInt8], challenge: [UInt8]) async throws(SASLError) -> SASLServerStep {
        try exchange.accept(response)
        // The user name may itself contain spaces; the digest follows the last one.
        guard let space = response.lastIndex(of: UInt8(ascii: " ")) else {
            throw SASLError(.malformed, "the response is not `user digest`", mechanism: .cramMD5)
        }
        let user = try exchange.identity(response[..<space], "user name")
        let digestText = response[(space + 1)...]
        guard digestText.count == 32, let digest = Bytes.unhex(digestText) else {
            throw SASLError(.malformed, "the digest is not 32 hexadecimal digits", mechanism: .cramMD5)
        }
        guard let stored = try await verifier.lookUp(user, mechanism: .cramMD5) else {
            throw SASLError(.authenticationFailed, "wrong password or unknown user", mechanism: .cramMD5)
        }
        let passwords = stored.compactMap { credential -> SASLSecret? in
            switch credential {
            case .password(let password): password
            case .scram, .passwordHash: nil
            }
        }
        guard !passwords.isEmpty else {
            throw SASLError(
                .authenticationFailed, "the store keeps no password for \(user), which CRAM-MD5 needs",
                mechanism: .cramMD5)
        }
        let matched = passwords.contains { Bytes.constantTimeEqual(Digests.hmacMD5(key: $0.bytes, challenge), digest) }
        guard matched else {
            throw SASLError(.authenticationFailed, "wrong password or unknown user", mechanism: .cramMD5)
        }
        return .success(try await verifier.authorize(user, as: nil, mechanism: .cramMD5), additionalData: nil)
    }
}
