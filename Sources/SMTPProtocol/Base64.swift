import ExtrasBase64

/// Base64 (RFC 4648 §4) as SMTP AUTH uses it (RFC 4954 §4): padded, no line breaks, and strict.
///
/// The codec is swift-extras-base64's, the one Base64 implementation in SwiftMTA (MailAuth, which
/// may not import this module, wraps the same codec for SCRAM). Strictness is added here: a text
/// is accepted only when it is the canonical encoding of what it decodes to, so a character outside
/// the alphabet, a missing or misplaced `=`, or non-zero pad bits (`Zh==`) make it invalid.
package enum Base64 {
    /// The padded encoding of `bytes`.
    package static func encode(_ bytes: some Collection<UInt8>) -> String {
        ExtrasBase64.Base64.encodeToString(bytes: bytes)
    }

    /// The octets of a padded, canonical encoding; `nil` for anything else.
    package static func decode(_ text: some StringProtocol) -> [UInt8]? {
        let input = Array(text.utf8)
        guard input.count % 4 == 0, let decoded = try? ExtrasBase64.Base64.decode(bytes: input),
              ExtrasBase64.Base64.encodeToBytes(bytes: decoded) == input
        else { return nil }
        return decoded
    }
}
