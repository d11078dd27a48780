/// A server that cannot start: a listener that cannot be bound, with its address and the
/// system's reason — one line, as an administrator wants to read it.
///
/// `swiftmta serve: cannot listen on 127.0.0.1:2525: the address is already in use (EADDRINUSE)`
public struct ServerStartError: Error, Hashable, Sendable, CustomStringConvertible {
    /// `host:port` of the listener.
    public let address: String
    /// Why it failed.
    public let reason: String

    /// The listener at `address` could not start, for `reason`.
    public init(address: String, reason: String) {
        self.address = address
        self.reason = reason
    }

    public var description: String { "cannot listen on \(address): \(reason)" }
}
