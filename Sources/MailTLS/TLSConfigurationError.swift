/// A TLS configuration that cannot be used: a file that cannot be read, PEM data that does not
/// parse, a key that does not belong to its certificate, a certificate out of its validity period or
/// with a key too weak for OpenSSL's security level, a setting OpenSSL refuses.
///
/// The message names the file and the reason, and carries OpenSSL's own reason where it has one.
/// It never contains key material.
public struct TLSConfigurationError: Error, Hashable, CustomStringConvertible {
    /// What kind of problem this is, for programs that react to it.
    public struct Kind: Hashable, Sendable, CustomStringConvertible {
        private let name: String
        private init(_ name: String) { self.name = name }

        /// A file could not be opened or read.
        public static let unreadableFile = Kind("unreadable file")
        /// A file holds no PEM object of the expected type, or one that does not parse.
        public static let malformedPEM = Kind("malformed PEM")
        /// The private key is encrypted and no passphrase (or a wrong one) was given.
        public static let encryptedKey = Kind("encrypted key")
        /// The private key does not belong to the certificate.
        public static let keyMismatch = Kind("key does not match certificate")
        /// OpenSSL refused a setting (protocol version, cipher list, CA location, security level).
        public static let rejectedSetting = Kind("rejected setting")
        /// A setting the context needs is missing (a server context without a certificate).
        public static let missingSetting = Kind("missing setting")
        /// The certificate's validity period has ended (RFC 5280 §4.1.2.5).
        public static let expiredCertificate = Kind("expired certificate")
        /// The certificate's validity period has not begun yet (RFC 5280 §4.1.2.5).
        public static let certificateNotYetValid = Kind("certificate not yet valid")
        /// A key or signature is weaker than the configured OpenSSL security level accepts
        /// (a 1024-bit RSA key at level 2, for example).
        public static let weakKey = Kind("key too weak for the security level")
        /// A self-signed certificate or its key could not be generated or written.
        public static let generationFailed = Kind("generation failed")

        /// The kind's name.
        public var description: String { name }
    }

    /// What kind of problem this is.
    public let kind: Kind
    /// The file concerned, when there is one.
    public let path: String?
    /// A sentence for an administrator: what failed, where, and why.
    public let message: String

    package init(_ kind: Kind, path: String?, message: String) {
        self.kind = kind
        self.path = path
        self.message = message
    }

    /// The message.
    public var description: String { message }
}
