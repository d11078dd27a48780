/// The SwiftMTA configuration an import writes, key by key with a comment naming the .mc line
/// each came from, and rendered as TOML (docs/configuration.md). Keys that cannot be used as
/// they stand (a certificate that is missing, a DNSBL zone that no longer exists) are written
/// commented out, so that the administrator sees them where they belong.
struct ImportedConfiguration {
    enum Value: Hashable {
        case string(String)
        case strings([String])
        case integer(Int)
        case boolean(Bool)
        case table([(String, Value)])

        static func == (lhs: Value, rhs: Value) -> Bool { lhs.rendered == rhs.rendered }

        func hash(into hasher: inout Hasher) { hasher.combine(rendered) }

        var rendered: String {
            switch self {
            case .string(let text): ImportedConfiguration.quote(text)
            case .strings(let items): "[" + items.map(ImportedConfiguration.quote).joined(separator: ", ") + "]"
            case .integer(let number): String(number)
            case .boolean(let flag): flag ? "true" : "false"
            case .table(let pairs): "{ " + pairs.map { "\($0.0) = \($0.1.rendered)" }.joined(separator: ", ") + " }"
            }
        }
    }

    struct Entry {
        var key: String
        var value: Value
        /// Comment lines above the key (without `#`).
        var comments: [String]
        /// Written as a comment, not as a key.
        var disabled: Bool
    }

    /// The tables in the order the file has them (the top level is `""`).
    static let tableOrder = ["", "maps", "routing", "relay", "auth", "tls", "smtp", "queue", "local", "dns"]

    /// Comment lines at the top of the file.
    var header: [String] = []
    private var tables: [String: [Entry]] = [:]
    /// `[relay] dnsbl` entries (inline tables), with their comments; disabled ones are commented out.
    var dnsbl: [Entry] = []
    /// `[[listen]]` tables.
    var listeners: [[Entry]] = []
    /// Comments above each `[[listen]]` table, and whether it is commented out.
    var listenerNotes: [(comments: [String], disabled: Bool)] = []

    /// Sets `key` in `table` (replacing an earlier value of the same key).
    mutating func set(_ table: String, _ key: String, _ value: Value, comment: [String] = [], disabled: Bool = false) {
        var entries = tables[table, default: []]
        if let index = entries.firstIndex(where: { $0.key == key }) {
            entries[index] = Entry(key: key, value: value, comments: entries[index].comments + comment, disabled: disabled)
        } else {
            entries.append(Entry(key: key, value: value, comments: comment, disabled: disabled))
        }
        tables[table] = entries
    }

    /// The value of `key` in `table`, when set and not disabled.
    func value(_ table: String, _ key: String) -> Value? {
        tables[table]?.first { $0.key == key && !$0.disabled }?.value
    }

    /// Removes `key` from `table`.
    mutating func remove(_ table: String, _ key: String) {
        tables[table]?.removeAll { $0.key == key }
    }

    /// Whether `table` has a key that is not disabled.
    func hasKeys(_ table: String) -> Bool {
        tables[table]?.contains { !$0.disabled } ?? false
    }

    /// The file's text.
    func rendered() -> String {
        var lines = header.map { Self.comment($0) }
        for table in Self.tableOrder {
            let entries = tables[table] ?? []
            let hasDNSBL = table == "relay" && !dnsbl.isEmpty
            guard !entries.isEmpty || hasDNSBL else { continue }
            lines.append("")
            if !table.isEmpty {
                if !entries.contains(where: { !$0.disabled }), !hasDNSBL {
                    lines.append("# [\(table)]")
                } else {
                    lines.append("[\(table)]")
                }
            }
            for entry in entries {
                lines += entry.comments.map(Self.comment)
                let line = "\(entry.key) = \(entry.value.rendered)"
                lines.append(entry.disabled ? "# " + line : line)
            }
            if hasDNSBL {
                lines.append("dnsbl = [")
                for entry in dnsbl {
                    lines += entry.comments.map { "    " + Self.comment($0) }
                    lines.append((entry.disabled ? "    # " : "    ") + entry.value.rendered + ",")
                }
                lines.append("]")
            }
        }
        for (index, listener) in listeners.enumerated() {
            let note = index < listenerNotes.count ? listenerNotes[index] : (comments: [], disabled: false)
            lines.append("")
            lines += note.comments.map(Self.comment)
            let prefix = note.disabled ? "# " : ""
            lines.append(prefix + "[[listen]]")
            for entry in listener {
                lines += entry.comments.map(Self.comment)
                lines.append(prefix + "\(entry.key) = \(entry.value.rendered)")
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// `# text`, with anything TOML does not allow in a comment (control characters) made a space.
    static func comment(_ text: String) -> String {
        let clean = String(text.unicodeScalars.map { scalar -> Character in
            (scalar.value < 0x20 && scalar.value != 0x09) || scalar.value == 0x7F ? " " : Character(scalar)
        })
        return clean.isEmpty ? "#" : "# " + clean
    }

    /// A TOML basic string (TOML 1.0 §String): `"`, `\` and control characters escaped.
    static func quote(_ text: String) -> String {
        QuotedString.literal(text)
    }
}
