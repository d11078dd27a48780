/// A TLS configuration that cannot be used: a file that cannot be read, PEM data that does not
/// parse, a key that does not belong to its certificate.
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
        /// OpenSSL refused a setting (protocol version, cipher list, CA location).
        public static let rejectedSetting = Kind("rejected setting")

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

    public var description: String { message }
}
