/// A password or token: bytes that never appear in a description, a debug dump or a mirror.
///
/// Every description prints `<secret>`, so a `SASLSecret` inside a logged value leaks nothing.
/// There is deliberately no `Equatable` conformance: mechanisms compare secrets and their digests in
/// constant time internally.
public struct SASLSecret: Sendable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable,
    ExpressibleByStringLiteral
{
    /// The secret's octets (UTF-8 for a typed password, RFC 4616 §2).
    public let bytes: [UInt8]

    /// A secret from its UTF-8 text.
    public init(_ text: String) {
        bytes = Array(text.utf8)
    }

    /// A secret from raw octets.
    public init(bytes: [UInt8]) {
        self.bytes = bytes
    }

    public init(stringLiteral value: String) {
        self.init(value)
    }

    /// Whether the secret is empty.
    public var isEmpty: Bool { bytes.isEmpty }

    public var description: String { "<secret>" }
    public var debugDescription: String { "<secret>" }
    public var customMirror: Mirror { Mirror(self, children: [:]) }
}
