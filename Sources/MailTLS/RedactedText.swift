/// Text kept out of every description, debug description and mirror — a key's passphrase, a
/// private key's PEM — so that `print`, `dump()`, `String(reflecting:)` and string interpolation of
/// a value holding it show `<redacted>`.
struct RedactedText: Sendable, Hashable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    let value: String

    init(_ value: String) {
        self.value = value
    }

    var description: String { "<redacted>" }
    var debugDescription: String { "<redacted>" }
    var customMirror: Mirror { Mirror(self, children: [:]) }
}
