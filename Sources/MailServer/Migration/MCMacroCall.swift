/// One call of a Sendmail cf library macro in a .mc: `FEATURE(`virtusertable', `hash -o
/// /etc/mail/virtusertable')` at `sendmail.mc:7`.
package struct MCMacroCall: Hashable, Sendable, CustomStringConvertible {
    /// The macro (`FEATURE`).
    package var name: String
    /// Its arguments, quotes removed and macros in them expanded.
    package var arguments: [String]
    /// Where it is.
    package var location: MCLocation
    /// Whether it was called with parentheses (`MAILER_DEFINITIONS` is not).
    package var parenthesized: Bool

    /// The call, written back as m4 (`FEATURE(`dnsbl', `zen.example')`).
    package var description: String {
        guard parenthesized else { return name }
        return "\(name)(\(arguments.map { "`\($0)'" }.joined(separator: ", ")))"
    }

    /// The argument at `index` with white space trimmed, `""` when absent.
    package func argument(_ index: Int) -> String {
        index < arguments.count ? arguments[index].mcTrimmed : ""
    }
}
