import MailSystem

/// SCRAM on the server (RFC 5802; SHA-256 by RFC 7677), with or without channel binding (`-PLUS`).
///
/// The exchange: the client-first message; the server-first message with the combined nonce, salt
/// and iteration count; the client-final message with its proof; success, with the server
/// signature `v=` as additional data (``SASLServerStep/success(_:additionalData:)``).
///
/// The store may keep a ``SCRAMVerifier`` for this hash function or the password itself (keys are
/// then derived for each exchange with a fresh salt). For an unknown user, or one whose store
/// keeps neither, the server goes on with a salt derived from the user name, so that the exchange
/// looks the same until the proof fails (RFC 5802 §9). PBKDF2 runs on the
/// `WorkerPool.keyDerivation` pool; when it is full or late the exchange fails with
/// ``SASLError/Kind/temporaryFailure``.
public struct SCRAMServerMechanism: SASLServerMechanism {
    private struct Pending: Sendable {
        let clientFirstBare: [UInt8]
        let serverFirst: [UInt8]
        let gs2Header: [UInt8]
        let nonce: [UInt8]
        let user: String
        let authorizationIdentity: String?
        let keys: (storedKey: [UInt8], serverKey: [UInt8])?
    }

    private enum State {
        case initial
        case awaitingClientFirst
        case awaitingClientFinal(Pending)
        case done
    }

    public let name: SASLMechanismName
    private let hashFunction: SCRAMHashFunction
    private let channelBinding: SASLChannelBinding?
    private let usesChannelBinding: Bool
    private let verifier: any SASLCredentialVerifier
    private let iterations: Int
    private var exchange: ServerExchange
    private var state = State.initial
    private let serverNonce: String
    private let fixedSalt: [UInt8]?

    /// A SCRAM exchange.
    ///
    /// - Parameters:
    ///   - mechanism: `SCRAM-SHA-1`, `SCRAM-SHA-256` or their `-PLUS` forms.
    ///   - context: the session; a `-PLUS` mechanism needs its ``SASLServerContext/channelBinding``.
    ///   - iterations: the count used when keys are derived from a stored password (4,096).
    /// - Throws: ``SASLError/Kind/mechanismUnavailable`` for a name that is not SCRAM, or a `-PLUS`
    ///   name without channel-binding data.
    public init(
        mechanism: SASLMechanismName, verifier: any SASLCredentialVerifier, context: SASLServerContext,
        iterations: Int = 4_096, limits: SASLLimits = .default
    ) throws(SASLError) {
        try self.init(
            mechanism: mechanism, verifier: verifier, context: context, iterations: iterations,
            serverNonce: Bytes.nonce(octets: 18), salt: nil, limits: limits)
    }

    /// An exchange with a given nonce and salt, for the RFC 5802 and RFC 7677 worked examples.
    init(
        mechanism: SASLMechanismName, verifier: any SASLCredentialVerifier, context: SASLServerContext,
        iterations: Int, serverNonce: String, salt: [UInt8]?, limits: SASLLimits
    ) throws(SASLError) {
        guard let hashFunction = SCRAMHashFunction(mechanism: mechanism) else {
            throw SASLError(.mechanismUnavailable, "\(mechanism) is not a SCRAM mechanism", mechanism: mechanism)
        }
        let plus = mechanism == hashFunction.channelBindingMechanism
        if plus, context.channelBinding == nil {
            throw SASLError(.mechanismUnavailable, "channel binding needs TLS channel-binding data", mechanism: mechanism)
        }
        name = mechanism
        self.hashFunction = hashFunction
        channelBinding = context.channelBinding
        usesChannelBinding = plus
        self.verifier = verifier
        self.iterations = max(iterations, 1)
        self.serverNonce = serverNonce
        fixedSalt = salt
        exchange = ServerExchange(mechanism: mechanism, limits: limits)
    }

    public mutating func start(initialResponse: [UInt8]?) async throws(SASLError) -> SASLServerStep {
        switch state {
        case .initial:
            guard let initialResponse else {
                state = .awaitingClientFirst
                return .challenge([])
            }
            state = .done
            return try await clientFirst(initialResponse)
        case .awaitingClientFirst, .awaitingClientFinal, .done:
            state = .done
            throw exchange.invalidState("the exchange has already started")
        }
    }

    public mutating func step(_ response: [UInt8]) async throws(SASLError) -> SASLServerStep {
        switch state {
        case .awaitingClientFirst:
            state = .done
            return try await clientFirst(response)
        case .awaitingClientFinal(let pending):
            state = .done
            return try await clientFinal(response, pending: pending)
        case .initial, .done:
            state = .done
            throw exchange.invalidState("no challenge is outstanding")
        }
    }

    private func malformed(_ message: String) -> SASLError {
        SASLError(.malformed, message, mechanism: name)
    }

    private mutating func clientFirst(_ message: [UInt8]) async throws(SASLError) -> SASLServerStep {
        try exchange.accept(message)
        // gs2-header: cbind-flag "," [authzid] ","
        let parts = message.split(separator: UInt8(ascii: ","), maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count == 3 else { throw malformed("the client-first message has no GS2 header") }
        let flagText = String(decoding: parts[0], as: UTF8.self)
        switch flagText {
        case "n":
            guard !usesChannelBinding else { throw malformed("\(name) needs channel binding but the client sent `n`") }
        case "y":
            guard !usesChannelBinding else { throw malformed("\(name) needs channel binding but the client sent `y`") }
            // RFC 5802 §6: the client could have bound the channel; if this server offers -PLUS the
            // client was misled by a downgrade.
            guard channelBinding == nil else {
                throw SASLError(
                    .authenticationFailed, "the client says the server offers no channel binding (a downgrade)",
                    mechanism: name)
            }
        default:
            guard flagText.hasPrefix("p=") else { throw malformed("the channel-binding flag is not n, y or p=") }
            guard usesChannelBinding, let channelBinding else {
                throw malformed("the client asks for channel binding with \(name), which has none")
            }
            guard flagText.dropFirst(2) == channelBinding.type else {
                throw SASLError(
                    .mechanismUnavailable, "the client asks for channel binding \(flagText.dropFirst(2)), not \(channelBinding.type)",
                    mechanism: name)
            }
        }
        var authorizationIdentity: String?
        if !parts[1].isEmpty {
            guard parts[1].starts(with: Array("a=".utf8)), let decoded = SCRAMAttributes.decodeName(Array(parts[1].dropFirst(2)))
            else { throw malformed("the authorization identity is not `a=saslname`") }
            authorizationIdentity = try exchange.identity(decoded, "authorization identity")
        }
        let bare = Array(parts[2])
        let gs2Header = Array(message[..<(message.count - bare.count)])
        let attributes: SCRAMAttributes
        do {
            attributes = try SCRAMAttributes(parsing: bare)
        } catch {
            throw malformed("the client-first message is not a list of attributes")
        }
        let entries = attributes.entries
        guard entries.count >= 2 else { throw malformed("the client-first message lacks n= or r=") }
        if entries[0].name == UInt8(ascii: "m") { throw malformed("the client-first message has a mandatory extension") }
        guard entries[0].name == UInt8(ascii: "n"), let userOctets = SCRAMAttributes.decodeName(entries[0].value) else {
            throw malformed("the client-first message does not start with a valid n=")
        }
        let user = try exchange.identity(userOctets, "user name")
        guard entries[1].name == UInt8(ascii: "r"), SCRAMAttributes.isPrintable(entries[1].value) else {
            throw malformed("the client nonce r= is missing or not printable")
        }
        let nonce = entries[1].value + Array(serverNonce.utf8)

        // Keys: a stored verifier of this hash, or keys derived from a stored password.
        let stored = try await verifier.lookUp(user, mechanism: name)
        var salt: [UInt8] = fixedSalt ?? Bytes.random(16)
        var iterationCount = iterations
        var keys: (storedKey: [UInt8], serverKey: [UInt8])?
        let hashFunction = self.hashFunction
        if let stored {
            if let scram = stored.lazy.compactMap({ credential -> SCRAMVerifier? in
                switch credential {
                case .scram(let verifier) where verifier.hashFunction == hashFunction: verifier
                case .scram, .password, .passwordHash: nil
                }
            }).first {
                salt = scram.salt
                iterationCount = scram.iterations
                keys = (scram.storedKey, scram.serverKey)
            } else if let password = stored.lazy.compactMap({ credential -> SASLSecret? in
                switch credential {
                case .password(let password): password
                case .scram, .passwordHash: nil
                }
            }).first {
                let derivationSalt = salt
                let count = iterationCount
                let derived = try await WorkerPool.keyDerivation.authenticationWork(mechanism: name) {
                    SCRAMKeys(password: password.bytes, salt: derivationSalt, iterations: count, hashFunction: hashFunction)
                }
                keys = (derived.storedKey, derived.serverKey)
            }
        }
        if keys == nil {
            // RFC 5802 §9: do not reveal that the user is unknown; a salt that is stable per user.
            salt = Array(hashFunction.hmac(key: Self.decoyKey, Array(user.utf8)).prefix(16))
        }
        let serverFirst = Array("r=".utf8) + nonce + Array(",s=\(Base64.encode(salt)),i=\(iterationCount)".utf8)
        state = .awaitingClientFinal(
            Pending(
                clientFirstBare: bare, serverFirst: serverFirst, gs2Header: gs2Header, nonce: nonce, user: user,
                authorizationIdentity: authorizationIdentity, keys: keys))
        return .challenge(serverFirst)
    }

    private mutating func clientFinal(_ message: [UInt8], pending: Pending) async throws(SASLError) -> SASLServerStep {
        try exchange.accept(message)
        let attributes: SCRAMAttributes
        do {
            attributes = try SCRAMAttributes(parsing: message)
        } catch {
            throw malformed("the client-final message is not a list of attributes")
        }
        let entries = attributes.entries
        guard entries.count >= 3, entries[0].name == UInt8(ascii: "c"), entries[1].name == UInt8(ascii: "r"),
            let last = entries.last, last.name == UInt8(ascii: "p")
        else { throw malformed("the client-final message is not c=,r=,…,p=") }
        guard let bindingInput = Base64.decode(entries[0].value) else { throw malformed("c= is not base64") }
        var expectedBinding = pending.gs2Header
        if usesChannelBinding, let channelBinding { expectedBinding += channelBinding.data }
        guard Bytes.constantTimeEqual(bindingInput, expectedBinding) else {
            throw SASLError(.authenticationFailed, "the channel binding does not match", mechanism: name)
        }
        guard Bytes.constantTimeEqual(entries[1].value, pending.nonce) else {
            throw SASLError(.authenticationFailed, "the nonce r= is not the one of this exchange", mechanism: name)
        }
        guard let proof = Base64.decode(last.value), proof.count == hashFunction.outputLength else {
            throw malformed("the proof p= is not base64 of the hash's length")
        }
        guard let keys = pending.keys else {
            throw SASLError(.authenticationFailed, "wrong password or unknown user", mechanism: name)
        }
        let withoutProof = Array(message[..<(message.count - last.value.count - 3)])
        let authMessage = pending.clientFirstBare + [UInt8(ascii: ",")] + pending.serverFirst + [UInt8(ascii: ",")] + withoutProof
        let clientSignature = hashFunction.hmac(key: keys.storedKey, authMessage)
        let clientKey = zip(proof, clientSignature).map { $0 ^ $1 }
        guard Bytes.constantTimeEqual(hashFunction.hash(clientKey), keys.storedKey) else {
            throw SASLError(.authenticationFailed, "wrong password or unknown user", mechanism: name)
        }
        let outcome = try await verifier.authorize(pending.user, as: pending.authorizationIdentity, mechanism: name)
        let serverSignature = hashFunction.hmac(key: keys.serverKey, authMessage)
        return .success(outcome, additionalData: Array("v=\(Base64.encode(serverSignature))".utf8))
    }

    /// The key that makes decoy salts for unknown users; fresh for each process.
    private static let decoyKey = Bytes.random(32)
}
