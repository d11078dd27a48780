public import SMTPProtocol

/// A routing answer that is a refusal: an `error:` entry, an unknown user, a loop, a malformed
/// address — or a table that could not be read, which is a temporary failure, never "not found".
public struct RoutingError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What kind of refusal.
    public struct Kind: Hashable, Sendable, CustomStringConvertible {
        private let name: String
        private init(_ name: String) { self.name = name }

        /// The address does not parse.
        public static let invalidAddress = Kind("invalid address")
        /// A table said `error:` (virtusertable, mailertable).
        public static let tableError = Kind("table error")
        /// No such local user.
        public static let unknownUser = Kind("unknown user")
        /// Virtual-user or alias resolution went round in a circle, or too deep.
        public static let loop = Kind("loop")
        /// A table could not be read: try again later.
        public static let tableUnavailable = Kind("table unavailable")
        /// A mailertable or smart-host entry names a mailer SwiftMTA does not have.
        public static let unknownMailer = Kind("unknown mailer")

        public var description: String { name }
    }

    /// What kind of refusal.
    public let kind: Kind
    /// The reply for the client (RCPT) or for the bounce.
    public let reply: SMTPReply

    /// A refusal of `kind` answered with `reply` (for the client at RCPT, or for the bounce). The
    /// reply is not checked against the kind.
    public init(_ kind: Kind, reply: SMTPReply) {
        self.kind = kind
        self.reply = reply
    }

    public var description: String { "\(kind): \(reply)" }
}
