/// The few Sendmail macros a SwiftMTA configuration may use in texts the server sends: the
/// greeting (`confSMTP_LOGIN_MSG`, `$j server ready at $b`) and HELP text.
///
/// `$j` the host name, `$w` its first label, `$m` the rest (the domain), `$b` the current date
/// (RFC 5322 §3.3), `$v` and `$Z` the version, `$$` a dollar sign.
struct SendmailMacros {
    /// The version `$v` and `$Z` stand for.
    static let version = "SwiftMTA"

    let hostname: String

    /// `text` with its macros replaced.
    func expand(_ text: String) -> String {
        var result = ""
        var iterator = text.makeIterator()
        while let character = iterator.next() {
            guard character == "$" else {
                result.append(character)
                continue
            }
            guard let name = iterator.next() else {
                result.append("$")
                break
            }
            result += value(of: name) ?? "$\(name)"
        }
        return result
    }

    private func value(of name: Character) -> String? {
        switch name {
        case "j": hostname
        case "w": String(hostname.prefix { $0 != "." })
        case "m": hostname.contains(".") ? String(hostname[hostname.index(after: hostname.firstIndex(of: ".")!)...]) : ""
        case "b": RFC5322Date.now()
        case "v", "Z": Self.version
        case "$": "$"
        default: nil
        }
    }

    /// Why `text` cannot be expanded (a macro SwiftMTA does not know), or `nil`.
    static func problem(in text: String) -> String? {
        var iterator = text.makeIterator()
        while let character = iterator.next() {
            guard character == "$" else { continue }
            guard let name = iterator.next() else { return "ends with a lone $ (write $$ for a dollar sign)" }
            guard "jwmbvZ$".contains(name) else {
                return "$\(name) is not a macro SwiftMTA knows ($j host name, $w, $m, $b date, $v, $Z, $$)"
            }
        }
        return nil
    }
}
