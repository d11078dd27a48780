import TOMLKit

/// Reads typed values out of a parsed TOML document, turning every problem — a wrong type, a
/// missing or unknown key — into a ``ConfigurationError`` that names the key and its line.
struct ConfigurationReader {
    let file: String
    private let lines: [String: Int]

    init(file: String, text: String) {
        self.file = file
        self.lines = Self.locateKeys(in: text)
    }

    /// The line of `key` (dotted, with `[n]` for array-of-tables entries), or of its table.
    func line(of key: String) -> Int? {
        var candidate = key
        while true {
            if let line = lines[candidate] { return line }
            if candidate.hasSuffix("]"), let open = candidate.lastIndex(of: "[") {
                // An element of an inline array: the array's own line.
                candidate = String(candidate[..<open])
            } else if let dot = candidate.lastIndex(of: ".") {
                candidate = String(candidate[..<dot])
            } else {
                return nil
            }
        }
    }

    func error(_ key: String, _ message: String) -> ConfigurationError {
        ConfigurationError(file: file, key: key, line: line(of: key), message: message)
    }

    /// A table's keys must all be known: a typo is an error, never silently ignored.
    func checkKeys(_ table: TOMLTable, at path: String, allowed: Set<String>) throws(ConfigurationError) {
        for key in table.keys.sorted() where !allowed.contains(key) {
            let full = path.isEmpty ? key : "\(path).\(key)"
            let suggestion = allowed.sorted().first { Self.editDistance($0, key) <= 2 }
            throw error(full, "unknown key" + (suggestion.map { "; did you mean \($0)?" } ?? ""))
        }
    }

    func string(_ table: TOMLTable, _ key: String, at path: String) throws(ConfigurationError) -> String? {
        guard let value = table[key] else { return nil }
        guard let text = value.string else { throw error(join(path, key), "must be a string") }
        return text
    }

    func bool(_ table: TOMLTable, _ key: String, at path: String) throws(ConfigurationError) -> Bool? {
        guard let value = table[key] else { return nil }
        guard let flag = value.bool else { throw error(join(path, key), "must be true or false") }
        return flag
    }

    func int(_ table: TOMLTable, _ key: String, at path: String, range: ClosedRange<Int>) throws(ConfigurationError) -> Int? {
        guard let value = table[key] else { return nil }
        guard let number = value.int else { throw error(join(path, key), "must be an integer") }
        guard range.contains(number) else { throw error(join(path, key), "must be between \(range.lowerBound) and \(range.upperBound)") }
        return number
    }

    func strings(_ table: TOMLTable, _ key: String, at path: String) throws(ConfigurationError) -> [String]? {
        guard let value = table[key] else { return nil }
        guard let array = value.array else { throw error(join(path, key), "must be an array of strings") }
        var result: [String] = []
        for (index, element) in array.enumerated() {
            guard let text = element.string else { throw error("\(join(path, key))[\(index)]", "must be a string") }
            result.append(text)
        }
        return result
    }

    func table(_ table: TOMLTable, _ key: String, at path: String) throws(ConfigurationError) -> TOMLTable? {
        guard let value = table[key] else { return nil }
        guard let inner = value.table else { throw error(join(path, key), "must be a table ([\(join(path, key))])") }
        return inner
    }

    func tables(_ table: TOMLTable, _ key: String, at path: String) throws(ConfigurationError) -> [TOMLTable]? {
        guard let value = table[key] else { return nil }
        guard let array = value.array else { throw error(join(path, key), "must be an array of tables ([[\(join(path, key))]])") }
        var result: [TOMLTable] = []
        for (index, element) in array.enumerated() {
            guard let inner = element.table else { throw error("\(join(path, key))[\(index)]", "must be a table") }
            result.append(inner)
        }
        return result
    }

    private func join(_ path: String, _ key: String) -> String {
        path.isEmpty ? key : "\(path).\(key)"
    }

    /// Where each key and table header is, by scanning the text: `[table]`, `[[array]]` (numbered
    /// in order), and `key =` lines inside them. Inline tables (`{ zone = … }`) give their key's line.
    static func locateKeys(in text: String) -> [String: Int] {
        var result: [String: Int] = [:]
        var section = ""
        var arrayCounts: [String: Int] = [:]
        for (number, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = rawLine.drop { $0 == " " || $0 == "\t" }
            let lineNumber = number + 1
            if line.hasPrefix("[[") {
                let name = line.dropFirst(2).prefix { $0 != "]" }.trimmingCharacters
                let index = arrayCounts[name, default: 0]
                arrayCounts[name] = index + 1
                section = "\(name)[\(index)]"
                result[section] = lineNumber
            } else if line.hasPrefix("[") {
                section = line.dropFirst().prefix { $0 != "]" }.trimmingCharacters
                result[section] = lineNumber
            } else if let equals = line.firstIndex(of: "="), !line.hasPrefix("#") {
                let key = line[..<equals].trimmingCharacters.replacingQuotes
                guard !key.isEmpty else { continue }
                result[section.isEmpty ? key : "\(section).\(key)"] = lineNumber
            }
        }
        return result
    }

    static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        var previous = Array(0...b.count)
        for i in 1...max(a.count, 1) where !a.isEmpty {
            var current = [i] + Array(repeating: 0, count: b.count)
            for j in 1...max(b.count, 1) where !b.isEmpty {
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            previous = current
        }
        return previous[b.count]
    }
}

extension Substring {
    var trimmingCharacters: String {
        var text = self
        while text.first == " " || text.first == "\t" { text.removeFirst() }
        while text.last == " " || text.last == "\t" || text.last == "\r" { text.removeLast() }
        return String(text)
    }
}

extension String {
    var replacingQuotes: String {
        count >= 2 && hasPrefix("\"") && hasSuffix("\"") ? String(dropFirst().dropLast()) : self
    }
}
