/// A path or mailbox that does not follow RFC 5321 §4.1.2, with where it went wrong.
public struct SMTPAddressError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What is wrong with the address.
    public struct Kind: Hashable, Sendable, CustomStringConvertible {
        private let name: String
        private init(_ name: String) { self.name = name }

        /// Not of the form `<…>`, `<>`, or `local@domain`.
        public static let malformedPath = Kind("malformed path")
        /// The local part is neither a dot-string nor a quoted-string.
        public static let malformedLocalPart = Kind("malformed local part")
        /// The domain is not a valid domain name or address literal.
        public static let malformedDomain = Kind("malformed domain")
        /// The domain exceeds DNS's limits (RFC 1035 §2.3.4: 255 octets, labels of 63).
        public static let tooLong = Kind("too long")

        public var description: String { name }
    }

    /// What is wrong.
    public let kind: Kind
    /// Text for the reply: what is wrong and where.
    public let message: String

    /// An error of `kind`; `message` is the text for the reply, naming what is wrong and where.
    /// Neither is checked.
    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { message }
}
