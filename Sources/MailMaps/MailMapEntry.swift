/// A key and its value, as a listing of a map gives them.
public struct MailMapEntry: Hashable, Sendable {
    /// The key.
    public let key: String
    /// The value.
    public let value: String

    /// An entry of `key` and `value`.
    public init(key: String, value: String) {
        self.key = key
        self.value = value
    }
}
