/// The digest computations of RFC 2831 §2.1.2.1 for `qop=auth`.
enum DigestMD5 {
    /// `H(username:realm:passwd)`, the 16 octets a store may keep instead of the password.
    static func userRealmPasswordHash(user: [UInt8], realm: [UInt8], password: [UInt8]) -> [UInt8] {
        Digests.md5(user + [UInt8(ascii: ":")] + realm + [UInt8(ascii: ":")] + password)
    }

    /// `HEX(KD(HEX(H(A1)), nonce:nc:cnonce:qop:HEX(H(A2))))` with A2 = `prefix:digest-uri`
    /// (`AUTHENTICATE` for the client's `response`, empty for the server's `rspauth`).
    static func response(
        userRealmPasswordHash: [UInt8], nonce: [UInt8], cnonce: [UInt8], nonceCount: [UInt8],
        authorizationIdentity: [UInt8]?, digestURI: [UInt8], a2Prefix: String
    ) -> String {
        let colon = UInt8(ascii: ":")
        var a1 = userRealmPasswordHash + [colon] + nonce + [colon] + cnonce
        if let authorizationIdentity, !authorizationIdentity.isEmpty { a1 += [colon] + authorizationIdentity }
        let a2 = Array(a2Prefix.utf8) + [colon] + digestURI
        let hashA1 = Array(Bytes.hex(Digests.md5(a1)).utf8)
        let hashA2 = Array(Bytes.hex(Digests.md5(a2)).utf8)
        let kd = hashA1 + [colon] + nonce + [colon] + nonceCount + [colon] + cnonce + [colon] + Array("auth".utf8) + [colon] + hashA2
        return Bytes.hex(Digests.md5(kd))
    }

    /// RFC 2831 §2.1.2.1: without `charset=utf-8`, user name and password are ISO 8859-1 when
    /// every character fits; this gives the octets to hash.
    static func octets(_ text: String, utf8: Bool) -> [UInt8] {
        guard !utf8 else { return Array(text.utf8) }
        var latin1: [UInt8] = []
        for scalar in text.unicodeScalars {
            guard scalar.value <= 0xFF else { return Array(text.utf8) }
            latin1.append(UInt8(scalar.value))
        }
        return latin1
    }

    /// The text of ISO 8859-1 octets.
    static func latin1String(_ bytes: [UInt8]) -> String {
        String(String.UnicodeScalarView(bytes.map { Unicode.Scalar($0) }))
    }
}
