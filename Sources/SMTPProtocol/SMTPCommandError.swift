/// A command line that does not parse, with the reply it deserves (RFC 5321 §4.2.4, RFC 3463).
public struct SMTPCommandError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What is wrong with the line.
    public struct Kind: Hashable, Sendable, CustomStringConvertible {
        private let name: String
        private init(_ name: String) { self.name = name }

        /// The verb is not a command (500 5.5.1).
        public static let unrecognizedCommand = Kind("unrecognized command")
        /// A command of the protocol that SwiftMTA does not implement (502 5.5.1).
        public static let notImplemented = Kind("not implemented")
        /// A byte that may not appear in a command line, or bytes that are not UTF-8 (500 5.5.2).
        public static let invalidCharacter = Kind("invalid character")
        /// A required argument is missing (501 5.5.4).
        public static let missingArgument = Kind("missing argument")
        /// An argument or parameter is not well formed (501 5.5.4).
        public static let invalidArgument = Kind("invalid argument")
        /// An argument was given to a command that takes none (501 5.5.4).
        public static let unexpectedArgument = Kind("unexpected argument")
        /// The MAIL FROM path does not parse (501 5.1.7).
        public static let badSenderAddress = Kind("bad sender address")
        /// The RCPT TO path does not parse (501 5.1.3).
        public static let badRecipientAddress = Kind("bad recipient address")
        /// An AUTH initial response that is not base64 (501 5.5.2, RFC 4954 §4).
        public static let invalidBase64 = Kind("invalid base64")

        public var description: String { name }
    }

    /// What is wrong.
    public let kind: Kind
    /// Text for the reply; it names what is wrong and never echoes more than a short excerpt.
    public let message: String

    /// An error of `kind`, whose ``reply`` carries `message` as its text. The message is not
    /// checked: it must not echo more of the command line than a short excerpt.
    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    /// The reply a server sends for this error.
    public var reply: SMTPReply {
        switch kind {
        case .unrecognizedCommand: SMTPReply(500, .invalidCommand, message)
        case .notImplemented: SMTPReply(502, .invalidCommand, message)
        case .invalidCharacter: SMTPReply(500, .syntaxError, message)
        case .invalidBase64: SMTPReply(501, .syntaxError, message)
        case .badSenderAddress: SMTPReply(501, .badSenderSyntax, message)
        case .badRecipientAddress: SMTPReply(501, .badDestinationSyntax, message)
        default: SMTPReply(501, .invalidArguments, message)
        }
    }

    public var description: String { "\(kind): \(message)" }
}
