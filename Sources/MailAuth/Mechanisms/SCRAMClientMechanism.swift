import MailSystem

/// SCRAM on the client (RFC 5802; SHA-256 by RFC 7677), with or without channel binding.
///
/// The exchange: the client-first message as initial response; the client-final message with the
/// proof in answer to the server-first message; then the server's signature `v=`, checked either as
/// a last challenge (answered with an empty response) or as additional data with success. A server
/// that reports success without a valid signature fails ``finish(additionalData:)``: it never
/// proved it knows the password.
///
/// ``step(_:)`` runs PBKDF2 for the server's iteration count on MailAuth's key-derivation pool
/// (`WorkerPool.keyDerivation`, see `WorkerPool.Configuration.keyDerivation`), never on the
/// caller's thread, and suspends meanwhile: a few milliseconds at 4,096 iterations. The count a
/// server may choose is capped by ``SASLLimits/maximumSCRAMIterations`` (100,000 by default); a
/// server asking for more fails the exchange before any work is done.
public struct SCRAMClientMechanism: SASLClientMechanism {
    private enum State {
        case initial
        case awaitingServerFirst(clientFirstBare: [UInt8])
        case awaitingServerFinal(expectedSignature: [UInt8])
        case verified
        case done
    }

    public let name: SASLMechanismName
    private let hashFunction: SCRAMHashFunction
    private let credentials: SASLClientCredentials
    private let gs2Header: SCRAMGS2Header
    private let channelBinding: SASLChannelBinding?
    private let clientNonce: String
    private let limits: SASLLimits
    private var state = State.initial

    /// A SCRAM exchange.
    ///
    /// - Parameters:
    ///   - hashFunction: SHA-1 or SHA-256.
    ///   - channelBinding: the TLS channel-binding data, when the session runs over TLS.
    ///   - serverOffersChannelBinding: whether the server advertised the `-PLUS` mechanism. With
    ///     channel-binding data and a server that offers it, the `-PLUS` mechanism runs (flag
    ///     `p=`); with data but no offer, the plain mechanism runs and says so (flag `y`), which lets
    ///     a server that did offer `-PLUS` detect a downgrade (RFC 5802 §6).
    public init(
        hashFunction: SCRAMHashFunction, credentials: SASLClientCredentials,
        channelBinding: SASLChannelBinding? = nil, serverOffersChannelBinding: Bool = false,
        limits: SASLLimits = .default
    ) {
        self.init(
            hashFunction: hashFunction, credentials: credentials, channelBinding: channelBinding,
            serverOffersChannelBinding: serverOffersChannelBinding, clientNonce: Bytes.nonce(octets: 18), limits: limits)
    }

    /// An exchange with a given nonce, for the RFC 5802 and RFC 7677 worked examples (and the
    /// fuzzer, which needs the same input to give the same run).
    package init(
        hashFunction: SCRAMHashFunction, credentials: SASLClientCredentials, channelBinding: SASLChannelBinding?,
        serverOffersChannelBinding: Bool, clientNonce: String, limits: SASLLimits
    ) {
        self.hashFunction = hashFunction
        self.credentials = credentials
        self.limits = limits
        self.clientNonce = clientNonce
        let flag: SCRAMGS2Header.ChannelBindingFlag
        if let channelBinding {
            if serverOffersChannelBinding {
                flag = .used(type: channelBinding.type)
                self.channelBinding = channelBinding
                name = hashFunction.channelBindingMechanism
            } else {
                flag = .supportedButNotUsed
                self.channelBinding = nil
                name = hashFunction.mechanism
            }
        } else {
            flag = .unsupported
            self.channelBinding = nil
            name = hashFunction.mechanism
        }
        gs2Header = SCRAMGS2Header(flag: flag, authorizationIdentity: credentials.authorizationIdentity)
    }

    public mutating func start() throws(SASLError) -> [UInt8]? {
        switch state {
        case .initial:
            guard !credentials.authenticationIdentity.isEmpty, !credentials.password.isEmpty else {
                state = .done
                throw SASLError(.configuration, "SCRAM needs a user name and a password", mechanism: name)
            }
            let bare = Array("n=".utf8) + SCRAMAttributes.encodeName(credentials.authenticationIdentity)
                + Array(",r=\(clientNonce)".utf8)
            state = .awaitingServerFirst(clientFirstBare: bare)
            return gs2Header.encoded + bare
        case .awaitingServerFirst, .awaitingServerFinal, .verified, .done:
            state = .done
            throw SASLError(.invalidState, "the exchange has already started", mechanism: name)
        }
    }

    public mutating func step(_ challenge: [UInt8]) async throws(SASLError) -> [UInt8] {
        switch state {
        case .awaitingServerFirst(let bare):
            state = .done
            let (response, expected) = try await clientFinal(serverFirst: challenge, clientFirstBare: bare)
            state = .awaitingServerFinal(expectedSignature: expected)
            return response
        case .awaitingServerFinal(let expected):
            state = .done
            try checkServerFinal(challenge, expected: expected)
            state = .verified
            return []
        case .initial, .verified, .done:
            state = .done
            throw SASLError(.malformed, "the server sent an unexpected SCRAM challenge", mechanism: name)
        }
    }

    public mutating func finish(additionalData: [UInt8]?) throws(SASLError) {
        switch state {
        case .verified:
            state = .done
        case .awaitingServerFinal(let expected):
            state = .done
            guard let additionalData else {
                throw SASLError(
                    .serverAuthenticationFailed, "the server reported success without its signature", mechanism: name)
            }
            try checkServerFinal(additionalData, expected: expected)
        case .initial, .awaitingServerFirst, .done:
            state = .done
            throw SASLError(.serverAuthenticationFailed, "the server reported success too early", mechanism: name)
        }
    }

    private func malformed(_ message: String) -> SASLError {
        SASLError(.malformed, "server-first message: \(message)", mechanism: name)
    }

    private func clientFinal(serverFirst: [UInt8], clientFirstBare: [UInt8]) async throws(SASLError) -> ([UInt8], [UInt8]) {
        guard serverFirst.count <= limits.maximumMessageLength else { throw malformed("too long") }
        let attributes: SCRAMAttributes
        do {
            attributes = try SCRAMAttributes(parsing: serverFirst)
        } catch {
            throw malformed("not a list of attributes")
        }
        let entries = attributes.entries
        guard entries.count >= 3 else { throw malformed("lacks r=, s= or i=") }
        if entries[0].name == UInt8(ascii: "m") { throw malformed("has a mandatory extension") }
        guard entries[0].name == UInt8(ascii: "r"), entries[1].name == UInt8(ascii: "s"),
            entries[2].name == UInt8(ascii: "i")
        else { throw malformed("is not r=,s=,i=") }
        let nonce = entries[0].value
        let ownNonce = Array(clientNonce.utf8)
        guard nonce.count > ownNonce.count, nonce.starts(with: ownNonce), SCRAMAttributes.isPrintable(nonce) else {
            throw SASLError(
                .serverAuthenticationFailed, "the server's nonce does not extend the client's", mechanism: name)
        }
        guard let salt = Base64.decode(entries[1].value), !salt.isEmpty else { throw malformed("s= is not base64") }
        guard let iterations = Int(String(decoding: entries[2].value, as: UTF8.self)), iterations > 0 else {
            throw malformed("i= is not a positive number")
        }
        guard iterations >= limits.minimumSCRAMIterations, iterations <= limits.maximumSCRAMIterations else {
            throw SASLError(
                .serverAuthenticationFailed,
                "the server asks for \(iterations) iterations, outside \(limits.minimumSCRAMIterations)...\(limits.maximumSCRAMIterations)",
                mechanism: name)
        }
        var bindingInput = gs2Header.encoded
        if let channelBinding { bindingInput += channelBinding.data }
        let withoutProof = Array("c=\(Base64.encode(bindingInput)),r=".utf8) + nonce
        let authMessage = clientFirstBare + [UInt8(ascii: ",")] + serverFirst + [UInt8(ascii: ",")] + withoutProof
        let password = credentials.password.bytes
        let hashFunction = hashFunction
        let keys = try await WorkerPool.keyDerivation.authenticationWork(mechanism: name) {
            SCRAMKeys(password: password, salt: salt, iterations: iterations, hashFunction: hashFunction)
        }
        let clientSignature = hashFunction.hmac(key: keys.storedKey, authMessage)
        let proof = zip(keys.clientKey, clientSignature).map { $0 ^ $1 }
        let serverSignature = hashFunction.hmac(key: keys.serverKey, authMessage)
        return (withoutProof + Array(",p=\(Base64.encode(proof))".utf8), serverSignature)
    }

    private func checkServerFinal(_ message: [UInt8], expected: [UInt8]) throws(SASLError) {
        guard message.count <= limits.maximumMessageLength else {
            throw SASLError(.malformed, "server-final message: too long", mechanism: name)
        }
        let attributes: SCRAMAttributes
        do {
            attributes = try SCRAMAttributes(parsing: message)
        } catch {
            throw SASLError(.malformed, "server-final message: not a list of attributes", mechanism: name)
        }
        guard let first = attributes.entries.first else {
            throw SASLError(.malformed, "server-final message: empty", mechanism: name)
        }
        if first.name == UInt8(ascii: "e") {
            // RFC 5802 §7 server-error-value: a fixed vocabulary, safe to report.
            let reason = String(decoding: first.value.prefix(64).filter { (0x21...0x7E).contains($0) }, as: UTF8.self)
            throw SASLError(.serverAuthenticationFailed, "the server reported error \(reason)", mechanism: name)
        }
        guard first.name == UInt8(ascii: "v"), let signature = Base64.decode(first.value),
            Bytes.constantTimeEqual(signature, expected)
        else {
            throw SASLError(.serverAuthenticationFailed, "the server's signature v= is wrong", mechanism: name)
        }
    }
}
