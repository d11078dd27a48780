/// DIGEST-MD5 on the server (RFC 2831) with `qop=auth` only: no integrity or confidentiality layer,
/// and no subsequent authentication.
///
/// The exchange: a challenge with the realm and a fresh nonce; the client's digest response,
/// checked against the password from the store; the server's `rspauth` as a second challenge; the
/// client's empty acknowledgement; success. The nonce count must be `00000001`, so a response
/// captured from one exchange and replayed, or replayed with a higher count, fails. A client's
/// attempt at subsequent authentication (a response sent as initial response, as Cyrus SASL's
/// client does for a server it authenticated to before) gets a fresh challenge instead (§2.2.2).
///
/// The store must hand out the password itself (``SASLStoredCredential/password(_:)``).
/// RFC 6331 moved DIGEST-MD5 to historic; it is here because Outlook set-ups and Sendmail's
/// `TRUST_AUTH_MECH` lists still use it.
public struct DigestMD5ServerMechanism: SASLServerMechanism {
    private enum State {
        case initial
        case awaitingResponse
        case awaitingAcknowledgement(SASLAuthentication)
        case done
    }

    public var name: SASLMechanismName { .digestMD5 }
    private let verifier: any SASLCredentialVerifier
    private var exchange: ServerExchange
    private var state = State.initial
    private let realm: String
    private let service: String
    private let hostNames: [String]
    private let nonce: [UInt8]

    /// A DIGEST-MD5 exchange.
    ///
    /// - Parameters:
    ///   - serverName: the server's host name; the response's `digest-uri` must name it (or one of
    ///     `otherHostNames`) after the service.
    ///   - realm: the realm offered; the server's name when `nil`.
    ///   - service: the `digest-uri` service, `smtp` for SMTP (RFC 2831 §2.1.2).
    ///   - otherHostNames: further names clients may use for this server (`digest-uri` is what the
    ///     client connected to, not necessarily `serverName`).
    public init(
        verifier: any SASLCredentialVerifier, serverName: String, realm: String? = nil, service: String = "smtp",
        otherHostNames: [String] = [], limits: SASLLimits = .default
    ) {
        self.init(
            verifier: verifier, serverName: serverName, realm: realm, service: service, otherHostNames: otherHostNames,
            nonce: Bytes.nonce(octets: 24), limits: limits)
    }

    /// An exchange with a given nonce, for RFC 2831's worked example.
    init(
        verifier: any SASLCredentialVerifier, serverName: String, realm: String?, service: String,
        otherHostNames: [String], nonce: String, limits: SASLLimits
    ) {
        self.verifier = verifier
        self.realm = realm ?? serverName
        self.service = service
        hostNames = ([serverName] + otherHostNames).map { $0.lowercased() }
        self.nonce = Array(nonce.utf8)
        exchange = ServerExchange(mechanism: .digestMD5, limits: limits)
    }

    public mutating func start(initialResponse: [UInt8]?) async throws(SASLError) -> SASLServerStep {
        switch state {
        case .initial:
            // An initial response is a client's attempt at subsequent authentication (RFC 2831
            // §2.2), which this server does not support: it answers with a fresh challenge and the
            // exchange proceeds as an initial authentication (§2.2.2).
            if let initialResponse { try exchange.accept(initialResponse) }
            state = .awaitingResponse
            var challenge = DigestMD5Directives()
            challenge.append("realm", quoted: Array(realm.utf8))
            challenge.append("nonce", quoted: nonce)
            challenge.append("qop", quoted: Array("auth".utf8))
            challenge.append("charset", token: "utf-8")
            challenge.append("algorithm", token: "md5-sess")
            return .challenge(challenge.encoded)
        case .awaitingResponse, .awaitingAcknowledgement, .done:
            state = .done
            throw exchange.invalidState("the exchange has already started")
        }
    }

    public mutating func step(_ response: [UInt8]) async throws(SASLError) -> SASLServerStep {
        switch state {
        case .awaitingResponse:
            state = .done
            try exchange.accept(response)
            let (outcome, rspauth) = try await verify(response)
            state = .awaitingAcknowledgement(outcome)
            return .challenge(Array("rspauth=\(rspauth)".utf8))
        case .awaitingAcknowledgement(let outcome):
            state = .done
            try exchange.accept(response)
            guard response.isEmpty else {
                throw SASLError(.malformed, "the client's answer to rspauth is not empty", mechanism: .digestMD5)
            }
            return .success(outcome, additionalData: nil)
        case .initial, .done:
            state = .done
            throw exchange.invalidState("no challenge is outstanding")
        }
    }

    private func malformed(_ message: String) -> SASLError {
        SASLError(.malformed, message, mechanism: .digestMD5)
    }

    private func verify(_ response: [UInt8]) async throws(SASLError) -> (SASLAuthentication, String) {
        let directives: DigestMD5Directives
        let fields: (user: [UInt8], realm: [UInt8]?, nonce: [UInt8], cnonce: [UInt8], nc: [UInt8], qop: [UInt8]?,
            uri: [UInt8], response: [UInt8], charset: [UInt8]?, authzid: [UInt8]?)
        do {
            directives = try DigestMD5Directives(parsing: response)
            guard let user = try directives.single("username") else { throw malformed("the response has no username") }
            guard let nonce = try directives.single("nonce") else { throw malformed("the response has no nonce") }
            guard let cnonce = try directives.single("cnonce") else { throw malformed("the response has no cnonce") }
            guard let nc = try directives.single("nc") else { throw malformed("the response has no nc") }
            guard let uri = try directives.single("digest-uri") else { throw malformed("the response has no digest-uri") }
            guard let digest = try directives.single("response") else { throw malformed("the response has no response") }
            for name in ["maxbuf", "cipher"] { _ = try directives.single(name) }
            fields = (
                user, try directives.single("realm"), nonce, cnonce, nc, try directives.single("qop"), uri, digest,
                try directives.single("charset"), try directives.single("authzid")
            )
        } catch let error as DigestMD5Directives.ParseError {
            switch error {
            case .malformed(let message): throw malformed(message)
            }
        } catch let error as SASLError {
            throw error
        } catch {
            throw malformed("the response cannot be parsed")
        }
        // RFC 2831 §2.1.2: the nonce must be ours; the count must be 1 (no subsequent authentication).
        guard Bytes.constantTimeEqual(fields.nonce, nonce) else {
            throw SASLError(.authenticationFailed, "the response carries a nonce this exchange did not issue", mechanism: .digestMD5)
        }
        guard fields.nc.count == 8, Bytes.unhex(fields.nc) != nil else { throw malformed("nc is not 8 hexadecimal digits") }
        guard fields.nc == Array("00000001".utf8) else {
            throw SASLError(.authenticationFailed, "the nonce count is not 00000001 (a replayed response)", mechanism: .digestMD5)
        }
        guard !fields.cnonce.isEmpty else { throw malformed("cnonce is empty") }
        if let qop = fields.qop, qop != Array("auth".utf8) {
            throw SASLError(.mechanismUnavailable, "only qop=auth is offered", mechanism: .digestMD5)
        }
        let isUTF8: Bool
        switch fields.charset {
        case nil: isUTF8 = false
        case let charset? where String(decoding: charset, as: UTF8.self).lowercased() == "utf-8": isUTF8 = true
        case _?: throw malformed("charset is not utf-8")
        }
        let realm = fields.realm ?? []
        guard fields.realm == nil || realm == Array(self.realm.utf8) else {
            throw SASLError(.authenticationFailed, "the response names a realm this server did not offer", mechanism: .digestMD5)
        }
        // digest-uri = serv-type "/" host [ "/" serv-name ]
        let uriParts = fields.uri.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false)
        guard uriParts.count == 2 || uriParts.count == 3 else { throw malformed("digest-uri is not service/host") }
        guard String(decoding: uriParts[0], as: UTF8.self).lowercased() == service.lowercased() else {
            throw SASLError(.authenticationFailed, "digest-uri names another service", mechanism: .digestMD5)
        }
        guard hostNames.contains(String(decoding: uriParts[1], as: UTF8.self).lowercased()) else {
            throw SASLError(.authenticationFailed, "digest-uri names another host", mechanism: .digestMD5)
        }
        guard fields.response.count == 32, Bytes.unhex(fields.response) != nil else {
            throw malformed("response is not 32 hexadecimal digits")
        }
        let user: String
        if isUTF8 {
            user = try exchange.identity(fields.user, "user name")
        } else {
            guard !fields.user.isEmpty, !fields.user.contains(0), fields.user.count <= exchange.limits.maximumFieldLength else {
                throw malformed("the user name is empty, too long or contains NUL")
            }
            user = DigestMD5.latin1String(fields.user)
        }
        let authorizationIdentity = try fields.authzid.map { (value) throws(SASLError) in
            try exchange.identity(value, "authorization identity", allowEmpty: true)
        }

        guard let stored = try await verifier.lookUp(user, mechanism: .digestMD5) else {
            throw SASLError(.authenticationFailed, "wrong password or unknown user", mechanism: .digestMD5)
        }
        var rspauth: String?
        for credential in stored {
            switch credential {
            case .password(let password):
                let passwordOctets: [UInt8]
                if !isUTF8, let text = Bytes.utf8String(password.bytes) {
                    passwordOctets = DigestMD5.octets(text, utf8: false)
                } else {
                    passwordOctets = password.bytes
                }
                let hash = DigestMD5.userRealmPasswordHash(user: fields.user, realm: realm, password: passwordOctets)
                let expected = DigestMD5.response(
                    userRealmPasswordHash: hash, nonce: nonce, cnonce: fields.cnonce, nonceCount: fields.nc,
                    authorizationIdentity: fields.authzid, digestURI: fields.uri, a2Prefix: "AUTHENTICATE")
                let given = Array(String(decoding: fields.response, as: UTF8.self).lowercased().utf8)
                if Bytes.constantTimeEqual(Array(expected.utf8), given) {
                    rspauth = DigestMD5.response(
                        userRealmPasswordHash: hash, nonce: nonce, cnonce: fields.cnonce, nonceCount: fields.nc,
                        authorizationIdentity: fields.authzid, digestURI: fields.uri, a2Prefix: "")
                }
            case .scram, .passwordHash:
                continue
            }
            if rspauth != nil { break }
        }
        guard let rspauth else {
            throw SASLError(.authenticationFailed, "wrong password or unknown user", mechanism: .digestMD5)
        }
        let outcome = try await verifier.authorize(user, as: authorizationIdentity, mechanism: .digestMD5)
        return (outcome, rspauth)
    }
}
