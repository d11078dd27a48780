/// DIGEST-MD5 on the client (RFC 2831) with `qop=auth`: answers the server's challenge with a
/// digest response, then checks the server's `rspauth` (mutual authentication).
public struct DigestMD5ClientMechanism: SASLClientMechanism {
    private enum State {
        case initial
        case awaitingChallenge
        case awaitingResponseAuthentication(expected: String)
        case verified
        case done
    }

    public var name: SASLMechanismName { .digestMD5 }
    private let credentials: SASLClientCredentials
    private let digestURI: String
    private let cnonce: [UInt8]
    private var state = State.initial

    /// A DIGEST-MD5 exchange with `credentials` against `host` (the server's name as the client
    /// knows it, which becomes `digest-uri` = `service/host`).
    public init(credentials: SASLClientCredentials, host: String, service: String = "smtp") {
        self.init(credentials: credentials, host: host, service: service, cnonce: Bytes.nonce(octets: 24))
    }

    /// An exchange with a given client nonce, for RFC 2831's worked example.
    package init(credentials: SASLClientCredentials, host: String, service: String, cnonce: String) {
        self.credentials = credentials
        digestURI = "\(service)/\(host)"
        self.cnonce = Array(cnonce.utf8)
    }

    public mutating func start() throws(SASLError) -> [UInt8]? {
        switch state {
        case .initial:
            state = .awaitingChallenge
            return nil
        case .awaitingChallenge, .awaitingResponseAuthentication, .verified, .done:
            state = .done
            throw SASLError(.invalidState, "the exchange has already started", mechanism: .digestMD5)
        }
    }

    public mutating func step(_ challenge: [UInt8]) throws(SASLError) -> [UInt8] {
        switch state {
        case .awaitingChallenge:
            state = .done
            let (response, expected) = try respond(to: challenge)
            state = .awaitingResponseAuthentication(expected: expected)
            return response
        case .awaitingResponseAuthentication(let expected):
            state = .done
            try checkResponseAuthentication(challenge, expected: expected)
            state = .verified
            return []
        case .initial, .verified, .done:
            state = .done
            throw SASLError(.malformed, "the server sent an unexpected DIGEST-MD5 challenge", mechanism: .digestMD5)
        }
    }

    public mutating func finish(additionalData: [UInt8]?) throws(SASLError) {
        switch state {
        case .verified:
            state = .done
        case .awaitingResponseAuthentication(let expected):
            state = .done
            guard let additionalData else {
                throw SASLError(
                    .serverAuthenticationFailed, "the server reported success without rspauth", mechanism: .digestMD5)
            }
            try checkResponseAuthentication(additionalData, expected: expected)
        case .initial, .awaitingChallenge, .done:
            state = .done
            throw SASLError(.serverAuthenticationFailed, "the server reported success too early", mechanism: .digestMD5)
        }
    }

    private func malformed(_ message: String) -> SASLError {
        SASLError(.malformed, "server challenge: \(message)", mechanism: .digestMD5)
    }

    private func respond(to challenge: [UInt8]) throws(SASLError) -> ([UInt8], String) {
        guard challenge.count <= 4096 else { throw malformed("longer than 4096 octets (RFC 2831 §2.1.1)") }
        let directives: DigestMD5Directives
        let nonce: [UInt8]
        let utf8: Bool
        let qops: [[UInt8]]
        do {
            directives = try DigestMD5Directives(parsing: challenge)
            guard let value = try directives.single("nonce"), !value.isEmpty else { throw malformed("no nonce") }
            nonce = value
            guard let algorithm = try directives.single("algorithm"),
                String(decoding: algorithm, as: UTF8.self).lowercased() == "md5-sess"
            else { throw malformed("algorithm is not md5-sess") }
            utf8 = try directives.single("charset").map { String(decoding: $0, as: UTF8.self).lowercased() == "utf-8" } ?? false
            // qop-options is itself a comma-separated list inside the quoted value (RFC 2831 §2.1.1).
            qops = try directives.single("qop").map { value in
                String(decoding: value, as: UTF8.self).split(separator: ",").map {
                    Array($0.trimmingCharacters(in: " \t").lowercased().utf8)
                }
            } ?? [Array("auth".utf8)]
        } catch let error as DigestMD5Directives.ParseError {
            switch error {
            case .malformed(let message): throw malformed(message)
            }
        } catch let error as SASLError {
            throw error
        } catch {
            throw malformed("cannot be parsed")
        }
        guard qops.contains(Array("auth".utf8)) else {
            throw SASLError(.mechanismUnavailable, "the server does not offer qop=auth", mechanism: .digestMD5)
        }
        let offeredRealms = directives.values("realm")
        let realm: [UInt8]
        if let chosen = credentials.realm {
            realm = DigestMD5.octets(chosen, utf8: utf8)
        } else {
            realm = offeredRealms.first ?? []
        }
        let user = DigestMD5.octets(credentials.authenticationIdentity, utf8: utf8)
        let passwordOctets: [UInt8]
        if !utf8, let text = Bytes.utf8String(credentials.password.bytes) {
            passwordOctets = DigestMD5.octets(text, utf8: false)
        } else {
            passwordOctets = credentials.password.bytes
        }
        let authzid = credentials.authorizationIdentity.flatMap { $0.isEmpty ? nil : Array($0.utf8) }
        let nonceCount = Array("00000001".utf8)
        let uri = Array(digestURI.utf8)
        let hash = DigestMD5.userRealmPasswordHash(user: user, realm: realm, password: passwordOctets)
        let response = DigestMD5.response(
            userRealmPasswordHash: hash, nonce: nonce, cnonce: cnonce, nonceCount: nonceCount,
            authorizationIdentity: authzid, digestURI: uri, a2Prefix: "AUTHENTICATE")
        let expected = DigestMD5.response(
            userRealmPasswordHash: hash, nonce: nonce, cnonce: cnonce, nonceCount: nonceCount,
            authorizationIdentity: authzid, digestURI: uri, a2Prefix: "")

        var answer = DigestMD5Directives()
        if utf8 { answer.append("charset", token: "utf-8") }
        answer.append("username", quoted: user)
        if !realm.isEmpty || !offeredRealms.isEmpty { answer.append("realm", quoted: realm) }
        answer.append("nonce", quoted: nonce)
        answer.append("nc", token: "00000001")
        answer.append("cnonce", quoted: cnonce)
        answer.append("digest-uri", quoted: uri)
        answer.append("response", token: response)
        answer.append("qop", token: "auth")
        if let authzid { answer.append("authzid", quoted: authzid) }
        return (answer.encoded, expected)
    }

    private func checkResponseAuthentication(_ challenge: [UInt8], expected: String) throws(SASLError) {
        let directives: DigestMD5Directives
        let value: [UInt8]?
        do {
            directives = try DigestMD5Directives(parsing: challenge)
            value = try directives.single("rspauth")
        } catch {
            throw SASLError(.serverAuthenticationFailed, "the server's rspauth cannot be parsed", mechanism: .digestMD5)
        }
        guard let value, Bytes.constantTimeEqual(Array(String(decoding: value, as: UTF8.self).lowercased().utf8), Array(expected.utf8)) else {
            throw SASLError(.serverAuthenticationFailed, "the server's rspauth is wrong", mechanism: .digestMD5)
        }
    }
}

extension Substring {
    fileprivate func trimmingCharacters(in set: String) -> String {
        String(drop { set.contains($0) }.reversed().drop { set.contains($0) }.reversed())
    }
}
