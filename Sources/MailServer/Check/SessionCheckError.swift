/// Why `swiftmta check session` or `swiftmta check server` could not run: a transcript that
/// cannot be read, a server that cannot be reached. The message names what and where.
public struct SessionCheckError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What went wrong, and where.
    public let message: String

    /// An error with its message.
    public init(_ message: String) {
        self.message = message
    }

    public var description: String { message }
}
