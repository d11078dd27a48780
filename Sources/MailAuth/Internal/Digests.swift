internal import Crypto

/// The MD5 and HMAC-MD5 that CRAM-MD5 (RFC 2195) and DIGEST-MD5 (RFC 2831) are built on.
enum Digests {
    static func md5(_ data: [UInt8]) -> [UInt8] {
        Array(Insecure.MD5.hash(data: data))
    }

    static func hmacMD5(key: [UInt8], _ data: [UInt8]) -> [UInt8] {
        Array(HMAC<Insecure.MD5>.authenticationCode(for: data, using: SymmetricKey(data: key)))
    }
}
