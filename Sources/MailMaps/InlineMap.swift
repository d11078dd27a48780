/// A small map written inside a configuration: `inline:{ key=value, key2=value2 }`, with braces
/// around an entry whose value holds commas or white space: `inline:{ { key = text, with comma } }`
/// (Postfix's `inline:` syntax).
public struct InlineMap: ListableMailMap {
    /// The `type:name` spec the map was opened from, for messages and traces.
    public let spec: String
    /// Case folding of keys.
    public let options: MailMapOptions
    private let table: [String: String]
    private let ordered: [MailMapEntry]

    /// Parses the `{ … }` part of an `inline:` spec.
    ///
    /// - Throws: ``MailMapError`` of kind `badSpec` when the braces do not balance or an entry has
    ///   no `=`.
    public init(_ text: String, options: MailMapOptions = MailMapOptions()) throws(MailMapError) {
        let spec = "inline:\(text)"
        self.spec = spec
        self.options = options
        guard let items = BraceList.items(text, requireBraces: true) else {
            throw MailMapError(.badSpec, map: spec,
                message: "\(spec): expected { key=value, … } with balanced braces")
        }
        var table: [String: String] = [:]
        var ordered: [MailMapEntry] = []
        for item in items {
            guard let equals = item.firstIndex(of: "=") else {
                throw MailMapError(.badSpec, map: spec,
                    message: "\(spec): entry \"\(item)\" has no \"=\" (expected key=value)")
            }
            let key = options.fold(item[..<equals].trimmingWhitespace())
            let value = item[item.index(after: equals)...].trimmingWhitespace()
            guard !key.isEmpty else {
                throw MailMapError(.badSpec, map: spec, message: "\(spec): entry \"\(item)\" has an empty key")
            }
            guard table[key] == nil else { continue }
            table[key] = value
            ordered.append(MailMapEntry(key: key, value: value))
        }
        self.table = table
        self.ordered = ordered
    }

    /// The value for `key`, `nil` when there is none (see ``MailMap/lookup(_:)``).
    public func lookup(_ key: String) async throws(MailMapError) -> String? {
        table[options.fold(key)]
    }

    /// Every entry (see ``ListableMailMap/entries()``).
    public func entries() async throws(MailMapError) -> [MailMapEntry] {
        ordered
    }
}
