/// Why ``SMTPServer/reload(configuration:backend:)`` refused a new configuration; the server goes
/// on with the one it had.
public struct ServerReloadError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What would not do, in one line.
    public let reason: String

    /// An error saying `reason`.
    public init(reason: String) {
        self.reason = reason
    }

    public var description: String { reason }
}
