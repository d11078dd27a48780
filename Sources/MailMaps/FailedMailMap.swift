/// A map that could not be opened, standing in for it: every lookup fails with the error that
/// opening gave. A server keeps running with a broken table and tempfails what needs it instead
/// of stopping (Postfix's "table that fails every lookup"); see
/// ``MailMapRegistry/openOrFailing(_:)``.
public struct FailedMailMap: MailMap {
    /// The `type:name` spec the map was opened from, for messages and traces.
    public let spec: String
    /// Why the map could not be opened.
    public let error: MailMapError

    /// A map that fails every lookup with `error`.
    public init(spec: String, error: MailMapError) {
        self.spec = spec
        self.error = error
    }

    /// The value for `key`, `nil` when there is none (see ``MailMap/lookup(_:)``).
    public func lookup(_ key: String) async throws(MailMapError) -> String? {
        throw error
    }
}
