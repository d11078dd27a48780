/// A command line that does not parse, with the reply it deserves.
public struct SMTPCommandError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What is wrong with the line.
    public struct Kind: Hashable, Sendable, CustomStringConvertible {
        private let name: String
        private init(_ name: String) { self.name = name }

        /// The verb is not a command (500 5.5.1).
        public static let unrecognizedCommand = Kind("unrecognized command")
        /// A byte that may not appear in a command line (500 5.5.2).
        public static let invalidCharacter = Kind("invalid character")
        /// A required argument is missing (501 5.5.4).
        public static let missingArgument = Kind("missing argument")
        /// An argument is not well formed (501 5.5.4).
        public static let invalidArgument = Kind("invalid argument")
        /// An argument was given to a command that takes none (501 5.5.4).
        public static let unexpectedArgument = Kind("unexpected argument")

        public var description: String { name }
    }

    public let kind: Kind
    /// Text for the reply; it names what is wrong, never echoes more than the verb.
    public let message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    /// The reply a server sends for this error.
    public var reply: SMTPReply {
        switch kind {
        case .unrecognizedCommand: SMTPReply(500, .invalidCommand, message)
        case .invalidCharacter: SMTPReply(500, .syntaxError, message)
        default: SMTPReply(501, .invalidArguments, message)
        }
    }

    public var description: String { "\(kind): \(message)" }
}
