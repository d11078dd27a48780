/// A table that could not be read: it is missing, unreadable, corrupt, or its server is down.
///
/// The message names the table (its spec, and the file and line where there is one) and the
/// reason. It never holds a secret such as an LDAP bind password or an authinfo value.
public struct MailMapError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What kind of failure this is.
    public struct Kind: Hashable, Sendable, CustomStringConvertible {
        private let name: String
        private init(_ name: String) { self.name = name }

        /// The table's file could not be opened or read.
        public static let unreadable = Kind("unreadable")
        /// The table's contents do not parse (a corrupt database, a text line without a value).
        public static let malformed = Kind("malformed")
        /// The spec itself is wrong (an unknown type, a URI that does not parse).
        public static let badSpec = Kind("bad spec")
        /// A remote table (LDAP, DNS) did not answer or could not be reached, or the worker pool
        /// of its blocking work is full or late: a temporary failure (451 4.3.0 at SMTP).
        public static let unavailable = Kind("unavailable")
        /// The table answered, but with a failure (an LDAP error result, an I/O error, a key the
        /// table cannot take, such as a DNSBL key that is not an IP address).
        public static let lookupFailed = Kind("lookup failed")
        /// The table cannot do what was asked (list the entries of an LDAP or DNS map).
        public static let unsupported = Kind("unsupported")

        /// The kind's name, as messages show it.
        public var description: String { name }
    }

    /// What kind of failure this is.
    public let kind: Kind
    /// The map concerned, as its `type:name` spec.
    public let map: String
    /// A sentence for an administrator: what failed, where, and why.
    public let message: String

    /// An error of `kind` about `map`; `message` names what failed and where, and holds no secret.
    public init(_ kind: Kind, map: String, message: String) {
        self.kind = kind
        self.map = map
        self.message = message
    }

    /// The message.
    public var description: String { message }
}
