public import SMTPProtocol

/// The text of HELP (RFC 5321 §4.1.1.8) from a Sendmail help file (`HELP_FILE`,
/// `/etc/mail/helpfile`): a `#vers 2` line, then `topic<TAB>text` lines, several per topic;
/// `smtp` is the topic of HELP without an argument. Lines starting with `#` are comments.
///
/// ```
/// #vers	2
/// smtp	I'm sorry, Dave, I'm afraid I can't do that.
/// mail	MAIL FROM: <sender> [ <parameters> ]
/// ```
///
/// The text may use Sendmail's macros (`$v`, `$j`). A topic gets `214-2.0.0` lines and
/// `214 2.0.0 End of HELP info`; an unknown one `504 5.3.0 HELP topic "…" unknown`, as Sendmail
/// answers.
public struct SendmailHelpFile: Hashable, Sendable {
    /// The lines by lower-cased topic, in file order.
    public let topics: [String: [String]]

    /// A help file that could not be read.
    public struct ParseError: Error, Hashable, Sendable, CustomStringConvertible {
        /// The line, when one is at fault.
        public let line: Int?
        /// What is wrong.
        public let message: String

        public var description: String { line.map { "line \($0): \(message)" } ?? message }
    }

    /// Parses the text of a help file.
    ///
    /// - Throws: ``ParseError`` for a `#vers` other than 2, or a line without a tab.
    public init(text: String) throws(ParseError) {
        var topics: [String: [String]] = [:]
        for (index, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            var line = Substring(rawLine)
            if line.hasSuffix("\r") { line = line.dropLast() }
            if line.isEmpty { continue }
            if line.hasPrefix("#vers") {
                let version = line.dropFirst("#vers".count).drop { $0 == " " || $0 == "\t" }
                guard version == "2" else {
                    throw ParseError(line: index + 1, message: "help file version \"\(version)\" is not 2 (#vers 2)")
                }
                continue
            }
            if line.hasPrefix("#") { continue }
            guard let tab = line.firstIndex(of: "\t") else {
                throw ParseError(line: index + 1, message: "expected topic<TAB>text")
            }
            let topic = line[..<tab].lowercased()
            guard !topic.isEmpty, topic.allSatisfy({ $0.isASCII && !$0.isWhitespace }) else {
                throw ParseError(line: index + 1, message: "the topic before the tab must be one word")
            }
            let body = String(line[line.index(after: tab)...])
            guard body.unicodeScalars.allSatisfy({ $0.value >= 0x20 && $0.value != 0x7F }) else {
                throw ParseError(line: index + 1, message: "the text holds a control character")
            }
            topics[topic, default: []].append(body)
        }
        self.topics = topics
    }

    /// The text by topic as SMTPProtocol's machine takes it (``SMTPServerConfiguration/helpTopics``):
    /// macros expanded for `hostname`, `smtp` as the topic of plain HELP, each ending with
    /// Sendmail's `End of HELP info`.
    public func machineTopics(hostname: String) -> [String: [String]] {
        let macros = SendmailMacros(hostname: hostname)
        var result: [String: [String]] = [:]
        for (topic, lines) in topics {
            result[topic == "smtp" ? "" : topic] = lines.map(macros.expand) + ["End of HELP info"]
        }
        return result
    }

    /// The reply to `HELP topic` (`nil` topic: plain HELP, the `smtp` topic), with macros expanded
    /// for `hostname`.
    public func reply(for topic: String?, hostname: String) -> SMTPReply {
        let key = (topic?.isEmpty == false ? topic! : "smtp").lowercased()
        guard let lines = topics[key], !lines.isEmpty else {
            let shown = String((topic ?? "").prefix(20).unicodeScalars.map { (0x20...0x7E).contains($0.value) ? Character($0) : "?" })
            return SMTPReply(504, EnhancedStatusCode(5, 3, 0), "HELP topic \"\(shown)\" unknown")
        }
        let macros = SendmailMacros(hostname: hostname)
        return SMTPReply(214, .success, lines: lines.map(macros.expand) + ["End of HELP info"])
    }
}
