/// What `swiftmta import-mc` says about a `sendmail.mc`: every line it carried over and where to,
/// every line it did not and why, every behaviour that differs, and the warnings about what is
/// known to be wrong today.
package struct ImportReport: Hashable, Sendable {
    /// The kinds of entry, in the order the report prints them.
    package enum Section: Int, Hashable, Sendable, CaseIterable, Comparable {
        /// Known to be wrong today: dead DNSBL zones, an open relay, passwords without TLS, weak keys.
        case warning
        /// A line with an effect in Sendmail that the SwiftMTA configuration does not have.
        case notCarriedOver
        /// A behaviour that differs even where a line was carried over (or where none was needed).
        case differs
        /// A line with nothing to carry over: Sendmail's own files and processes, its build, what
        /// SwiftMTA has built in.
        case notNeeded
        /// A line and the key it became.
        case carriedOver

        /// The heading.
        package var title: String {
            switch self {
            case .warning: "Warnings"
            case .notCarriedOver: "Not carried over"
            case .differs: "Behaves differently"
            case .notNeeded: "Nothing to carry over"
            case .carriedOver: "Carried over"
            }
        }

        package static func < (lhs: Section, rhs: Section) -> Bool { lhs.rawValue < rhs.rawValue }
    }

    /// One entry.
    package struct Entry: Hashable, Sendable {
        package var section: Section
        /// The line it is about, when it is about one.
        package var location: MCLocation?
        /// The line's macro as written (`FEATURE(`access_db')`), or a short subject.
        package var subject: String
        /// Where it went (for ``Section/carriedOver``) or why (for the others).
        package var message: String

        package init(_ section: Section, _ location: MCLocation?, _ subject: String, _ message: String) {
            self.section = section
            self.location = location
            self.subject = subject
            self.message = message
        }

        /// `file:line: subject: message`.
        package var line: String {
            let place = location.map { "\($0): " } ?? ""
            return subject.isEmpty ? place + message : "\(place)\(subject): \(message)"
        }
    }

    /// The entries, in the order they were found.
    package var entries: [Entry] = []
    /// The result of checking the written configuration as `swiftmta check-config` does: `[]`
    /// when it passed, its errors otherwise; `nil` when it was not checked.
    package var checkErrors: [String]?

    package init() {}

    package mutating func add(_ section: Section, _ location: MCLocation?, _ subject: String, _ message: String) {
        let entry = Entry(section, location, subject, message)
        if !entries.contains(entry) { entries.append(entry) }
    }

    /// The entries of one section, by file and line.
    package func entries(_ section: Section) -> [Entry] {
        entries.enumerated().filter { $0.element.section == section }.sorted { a, b in
            switch (a.element.location, b.element.location) {
            case let (left?, right?) where left != right: return left < right
            case (nil, _?): return false
            case (_?, nil): return true
            default: return a.offset < b.offset
            }
        }.map(\.element)
    }

    /// The report as the command prints it: a heading per section that has entries, one entry per
    /// line (long messages wrapped under it), and the check-config result.
    package func rendered(source: String, written: [String]) -> String {
        var lines = ["swiftmta import-mc: \(source) → \(written.joined(separator: ", "))"]
        for section in Section.allCases {
            let found = entries(section)
            guard !found.isEmpty else { continue }
            lines.append("")
            lines.append("\(section.title) (\(found.count)):")
            for entry in found {
                let place = entry.location.map { "\($0): " } ?? ""
                let head = "  " + place + (entry.subject.isEmpty ? "" : entry.subject)
                if entry.subject.isEmpty {
                    lines += Self.wrap(entry.message, first: "  " + place, rest: "      ")
                } else {
                    lines.append(head)
                    lines += Self.wrap(entry.message, first: "      ", rest: "      ")
                }
            }
        }
        lines.append("")
        switch checkErrors {
        case nil: break
        case let errors? where errors.isEmpty:
            lines.append("check-config: the written configuration is valid (swiftmta check-config \(written.first ?? ""))")
        case let errors?:
            lines.append("check-config: the written configuration has \(errors.count) error\(errors.count == 1 ? "" : "s") to fix before swiftmta serve runs it:")
            lines += errors.map { "  " + $0 }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// `text` in lines of at most 100 characters, the first starting with `first`, the others
    /// with `rest`.
    static func wrap(_ text: String, first: String, rest: String) -> [String] {
        var lines: [String] = []
        var current = first
        var empty = true
        for word in text.split(separator: " ", omittingEmptySubsequences: true) {
            if !empty, current.count + 1 + word.count > 100 {
                lines.append(current)
                current = rest
                empty = true
            }
            current += (empty ? "" : " ") + word
            empty = false
        }
        lines.append(current)
        return lines
    }
}
