import ExtrasBase64

/// Base64 (RFC 4648 §4) for the attributes inside SCRAM messages and for stored verifiers: padded
/// and canonical.
///
/// The codec is swift-extras-base64's, the one Base64 implementation in SwiftMTA (SMTPProtocol,
/// which this module may not import, wraps the same codec for the AUTH exchange). The SMTP
/// transport encoding of whole SASL messages is the protocol layer's business; this is only for
/// values *inside* a mechanism's messages (SCRAM's `s=`, `c=`, `p=`, `v=`).
enum Base64 {
    /// The padded encoding of `bytes`.
    static func encode(_ bytes: some Collection<UInt8>) -> String {
        ExtrasBase64.Base64.encodeToString(bytes: bytes)
    }

    /// The octets of a padded, canonical encoding; `nil` for anything else (wrong length, a
    /// character outside the alphabet, misplaced padding, or non-zero bits in the last character):
    /// the codec decodes, and the text must be what encoding the result gives back.
    static func decode(_ text: some Collection<UInt8>) -> [UInt8]? {
        let input = Array(text)
        guard input.count % 4 == 0, let decoded = try? ExtrasBase64.Base64.decode(bytes: input),
              ExtrasBase64.Base64.encodeToBytes(bytes: decoded) == input
        else { return nil }
        return decoded
    }

    static func decode(_ text: String) -> [UInt8]? {
        decode(Array(text.utf8))
    }
}
