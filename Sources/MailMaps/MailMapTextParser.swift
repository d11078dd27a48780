/// The text format of Sendmail's and Postfix's map sources (`access`, `virtusertable`,
/// `mailertable`, `aliases`, `local-host-names`), read the way `makemap` and `postmap` read them.
///
/// - A line whose first non-blank character is `#` is a comment; blank lines are skipped.
/// - A line that starts with a space or tab continues the entry above it (Postfix's rule; the
///   continuation is appended as it is, as `postmap` does).
/// - An entry is a key, then white space (or the ``Format/table(delimiter:)`` delimiter, or the
///   colon of the ``Format/aliases`` format), then the value. Leading and trailing white space
///   of the value is dropped.
/// - A line ending in CR LF is read as ending in LF.
///
/// Anything else is an error naming the file and line: a key with no value, a continuation
/// with no entry above it, a NUL byte, text that is not UTF-8.
public struct MailMapTextParser: Sendable {
    /// What the lines hold.
    public enum Format: Hashable, Sendable {
        /// `key value` lines (access, virtusertable, mailertable, authinfo). With a delimiter
        /// (makemap's `-t`), the key ends at the first delimiter instead of at white space.
        case table(delimiter: Character?)
        /// `name: value` lines (aliases(5)): the key ends at the first colon.
        case aliases
        /// Names, one or more per line (a Sendmail class file such as local-host-names): each
        /// name is a key whose value is the name as written.
        case list
    }

    /// One entry of the file.
    public struct Entry: Hashable, Sendable {
        /// The key, as written (not case-folded).
        public let key: String
        /// The value.
        public let value: String
        /// The line the entry starts on, from 1.
        public let line: Int

        /// An entry of `key` and `value` from `line`, for maps written from elsewhere than a file.
        public init(key: String, value: String, line: Int) {
            self.key = key
            self.value = value
            self.line = line
        }
    }

    /// What the lines hold.
    public let format: Format
    /// The map spec errors name.
    public let spec: String
    /// The file name errors name.
    public let source: String

    /// A parser for `format`, whose errors name `spec` and `source` (the file).
    public init(format: Format, spec: String, source: String) {
        self.format = format
        self.spec = spec
        self.source = source
    }

    /// The entries of `bytes`, in file order (duplicates included).
    ///
    /// - Throws: ``MailMapError`` of kind `malformed` naming the file and line.
    public func entries(_ bytes: [UInt8]) throws(MailMapError) -> [Entry] {
        var entries: [Entry] = []
        var pending: [UInt8] = []
        var pendingLine = 0
        var lineNumber = 0
        var start = 0
        let count = bytes.count

        func flush() throws(MailMapError) {
            guard !pending.isEmpty else { return }
            try entries.append(contentsOf: parseLogicalLine(pending, line: pendingLine))
            pending.removeAll(keepingCapacity: true)
        }

        while start < count {
            lineNumber += 1
            var end = start
            while end < count && bytes[end] != UInt8(ascii: "\n") { end += 1 }
            var lineEnd = end
            if lineEnd > start && bytes[lineEnd - 1] == UInt8(ascii: "\r") { lineEnd -= 1 }
            let line = bytes[start..<lineEnd]
            start = end + 1

            let firstNonBlank = line.firstIndex { $0 != UInt8(ascii: " ") && $0 != UInt8(ascii: "\t") }
            guard let firstNonBlank else { continue }  // blank line
            if line[firstNonBlank] == UInt8(ascii: "#") { continue }  // comment
            if line.contains(0) {
                throw malformed(line: lineNumber, "contains a NUL byte")
            }
            let continues = firstNonBlank != line.startIndex
            if continues, case .list = format {
                // A class file has no continuation lines: every line holds names.
                try flush()
                pending.append(contentsOf: line)
                pendingLine = lineNumber
                continue
            }
            if continues {
                guard !pending.isEmpty else {
                    throw malformed(line: lineNumber, "starts with white space but continues no entry above it")
                }
                pending.append(contentsOf: line)
            } else {
                try flush()
                pending.append(contentsOf: line)
                pendingLine = lineNumber
            }
        }
        try flush()
        return entries
    }

    private func parseLogicalLine(_ bytes: [UInt8], line: Int) throws(MailMapError) -> [Entry] {
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw malformed(line: line, "is not valid UTF-8")
        }
        switch format {
        case .list:
            return text.split(whereSeparator: { $0 == " " || $0 == "\t" }).map {
                Entry(key: String($0), value: String($0), line: line)
            }
        case .aliases:
            let body = text.trimmingWhitespace()
            guard let colon = body.firstIndex(of: ":") else {
                throw malformed(line: line, "has no colon after the alias name (expected name: value)")
            }
            let key = body[..<colon].trimmingWhitespace()
            let value = body[body.index(after: colon)...].trimmingWhitespace()
            guard !key.isEmpty else { throw malformed(line: line, "has no alias name before its colon") }
            guard !value.isEmpty else { throw malformed(line: line, "the alias has no value after its colon") }
            return [Entry(key: key, value: value, line: line)]
        case .table(let delimiter):
            let body = text.trimmingWhitespace()
            let keyEnd: String.Index?
            if let delimiter {
                keyEnd = body.firstIndex(of: delimiter)
            } else {
                keyEnd = body.firstIndex { $0 == " " || $0 == "\t" }
            }
            guard let keyEnd else { throw noValue(line: line, delimiter: delimiter) }
            let key = String(body[..<keyEnd])
            let valueStart = delimiter == nil ? keyEnd : body.index(after: keyEnd)
            let value = body[valueStart...].trimmingWhitespace()
            guard !key.isEmpty else { throw malformed(line: line, "has an empty key") }
            guard !value.isEmpty else { throw noValue(line: line, delimiter: delimiter) }
            return [Entry(key: key, value: value, line: line)]
        }
    }

    private func malformed(line: Int, _ problem: String) -> MailMapError {
        MailMapError(.malformed, map: spec, message: "\(source), line \(line): \(problem)")
    }

    /// The line's text is not repeated: tables such as authinfo hold passwords.
    private func noValue(line: Int, delimiter: Character?) -> MailMapError {
        let separator = delimiter.map { "\"\($0)\"" } ?? "white space"
        return malformed(line: line, "the entry has a key but no value (expected key, \(separator), value)")
    }
}
