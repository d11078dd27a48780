import TOMLKit

/// Reads typed values out of a parsed TOML document, turning every problem — a wrong type, a
/// missing or unknown key — into a ``ConfigurationError`` that names the key and its line.
///
/// Problems are collected, not thrown: a reader keeps going after a bad value (the accessor
/// returns `nil`, as for a key that is absent), so that `swiftmta check-config` can list every
/// error of a file at once.
final class ConfigurationReader {
    let file: String
    let lines: [String: Int]
    private(set) var errors: [ConfigurationError] = []

    init(file: String, text: String) {
        self.file = file
        self.lines = Self.locateKeys(in: text)
    }

    /// The line of `key` (dotted, with `[n]` for array-of-tables entries), or of its table.
    func line(of key: String) -> Int? {
        Self.line(of: key, in: lines)
    }

    static func line(of key: String, in lines: [String: Int]) -> Int? {
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

    /// Records a problem with `key`.
    func report(_ key: String, _ message: String) {
        errors.append(error(key, message))
    }

    /// Records a problem found elsewhere (a map that cannot be opened, a certificate).
    func report(_ error: ConfigurationError) {
        errors.append(error)
    }

    /// A table's keys must all be known: a typo is an error, never silently ignored.
    func checkKeys(_ table: TOMLTable, at path: String, allowed: Set<String>) {
        for key in table.keys.sorted() where !allowed.contains(key) {
            let full = join(path, key)
            let suggestion = allowed.sorted().first { Self.editDistance($0, key) <= 2 }
            report(full, "unknown key" + (suggestion.map { "; did you mean \($0)?" } ?? ""))
        }
    }

    func string(_ table: TOMLTable, _ key: String, at path: String) -> String? {
        guard let value = table[key] else { return nil }
        guard let text = value.string else {
            report(join(path, key), "must be a string")
            return nil
        }
        return text
    }

    func bool(_ table: TOMLTable, _ key: String, at path: String) -> Bool? {
        guard let value = table[key] else { return nil }
        guard let flag = value.bool else {
            report(join(path, key), "must be true or false")
            return nil
        }
        return flag
    }

    func int(_ table: TOMLTable, _ key: String, at path: String, range: ClosedRange<Int>) -> Int? {
        guard let value = table[key] else { return nil }
        guard let number = value.int else {
            report(join(path, key), "must be an integer")
            return nil
        }
        guard range.contains(number) else {
            report(join(path, key), "must be between \(range.lowerBound) and \(range.upperBound)")
            return nil
        }
        return number
    }

    /// A duration: an integer of seconds, or a string of a number and a unit (`250ms`, `30s`, `5m`, `4h`, `5d`).
    func duration(_ table: TOMLTable, _ key: String, at path: String, range: ClosedRange<Duration>) -> Duration? {
        guard let value = table[key] else { return nil }
        let parsed: Duration?
        if let seconds = value.int {
            parsed = seconds >= 0 ? .seconds(seconds) : nil
        } else if let text = value.string {
            parsed = Self.parseDuration(text)
        } else {
            parsed = nil
        }
        guard let parsed else {
            report(join(path, key), "must be a duration: seconds, or a number with ms, s, m, h or d (\"30s\", \"5m\")")
            return nil
        }
        guard range.contains(parsed) else {
            report(join(path, key), "must be between \(Self.format(range.lowerBound)) and \(Self.format(range.upperBound))")
            return nil
        }
        return parsed
    }

    func strings(_ table: TOMLTable, _ key: String, at path: String) -> [String]? {
        guard let value = table[key] else { return nil }
        guard let array = value.array else {
            report(join(path, key), "must be an array of strings")
            return nil
        }
        var result: [String] = []
        for (index, element) in array.enumerated() {
            guard let text = element.string else {
                report("\(join(path, key))[\(index)]", "must be a string")
                continue
            }
            result.append(text)
        }
        return result
    }

    func table(_ table: TOMLTable, _ key: String, at path: String) -> TOMLTable? {
        guard let value = table[key] else { return nil }
        guard let inner = value.table else {
            report(join(path, key), "must be a table ([\(join(path, key))])")
            return nil
        }
        return inner
    }

    func tables(_ table: TOMLTable, _ key: String, at path: String) -> [TOMLTable]? {
        guard let value = table[key] else { return nil }
        guard let array = value.array else {
            report(join(path, key), "must be an array of tables ([[\(join(path, key))]])")
            return nil
        }
        var result: [TOMLTable] = []
        for (index, element) in array.enumerated() {
            guard let inner = element.table else {
                report("\(join(path, key))[\(index)]", "must be a table")
                continue
            }
            result.append(inner)
        }
        return result
    }

    func join(_ path: String, _ key: String) -> String {
        path.isEmpty ? key : "\(path).\(key)"
    }

    /// `250ms`, `30s`, `5m`, `4h`, `5d`, `90` (seconds).
    static func parseDuration(_ text: String) -> Duration? {
        let trimmed = Substring(text).trimmingCharacters
        guard let last = trimmed.last else { return nil }
        let unit: Int64
        var number = Substring(trimmed)
        if number.hasSuffix("ms") {
            number = number.dropLast(2)
            guard !number.isEmpty, number.allSatisfy({ $0.isASCII && $0.isNumber }), let value = Int64(number) else { return nil }
            return .milliseconds(value)
        }
        switch last {
        case "s": unit = 1; number = number.dropLast()
        case "m": unit = 60; number = number.dropLast()
        case "h": unit = 3600; number = number.dropLast()
        case "d": unit = 86_400; number = number.dropLast()
        default: unit = 1
        }
        guard !number.isEmpty, number.allSatisfy({ $0.isASCII && $0.isNumber }), let value = Int64(number),
              value <= Int64.max / unit else { return nil }
        return .seconds(value * unit)
    }

    static func format(_ duration: Duration) -> String {
        let seconds = duration.components.seconds
        if duration.components.attoseconds != 0 { return "\(seconds * 1000 + duration.components.attoseconds / 1_000_000_000_000_000)ms" }
        if seconds % 86_400 == 0, seconds > 0 { return "\(seconds / 86_400)d" }
        if seconds % 3600 == 0, seconds > 0 { return "\(seconds / 3600)h" }
        if seconds % 60 == 0, seconds > 0 { return "\(seconds / 60)m" }
        return "\(seconds)s"
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

    /// A first look at the text before TOMLKit parses it: ``TOMLShape`` checks the structure
    /// toml++ (under TOMLKit) takes for granted — it asserts, ending the process, on some inputs
    /// it should refuse (a table header that does not start with a key, a non-ASCII character in
    /// one). The line of the first problem and what it is, or `nil` when the text can go to the
    /// parser.
    static func lexicalProblem(in text: String) -> (line: Int, message: String)? {
        var shape = TOMLShape(Array(text.utf8))
        return shape.check()
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
