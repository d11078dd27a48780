/// The value of a Sendmail `AuthInfo:` entry (FEATURE(`authinfo`), cf/README "SMTP AUTH"): the
/// credentials and mechanisms a relaying client uses for one server, as the seed's `client-info`
/// file has it:
///
/// ```
/// AuthInfo:mailserver.somedom.com "U:root" "I:user_name" "P:password"
/// ```
///
/// Items are quoted and separated by white space: `U:` the authorization identity, `I:` the
/// authentication identity, `P:` the password (or `P=` the password in base64), `R:` the realm,
/// `M:` the mechanisms allowed, separated by spaces. Sendmail requires `I:` (or `U:`, which then
/// serves as both) and `P:`.
public struct SASLAuthInfo: Sendable, CustomStringConvertible {
    /// The credentials (`U:`, `I:`, `P:`, `R:`).
    public let credentials: SASLClientCredentials
    /// The mechanisms allowed (`M:`), in the order given; `nil` for any.
    public let mechanisms: [SASLMechanismName]?

    /// Parses the value part of an `AuthInfo:` entry (what a map lookup returns).
    ///
    /// - Throws: ``SASLError/Kind/configuration`` saying which item is wrong, never repeating the
    ///   password.
    public init(parsing value: String) throws(SASLError) {
        var items: [String: String] = [:]
        var rest = Substring(value)
        while true {
            rest = rest.drop { $0 == " " || $0 == "\t" }
            if rest.isEmpty { break }
            guard rest.first == "\"" else { throw SASLError(.configuration, "AuthInfo: an item is not in double quotes") }
            rest = rest.dropFirst()
            guard let close = rest.firstIndex(of: "\"") else {
                throw SASLError(.configuration, "AuthInfo: an item has no closing quote")
            }
            let item = rest[..<close]
            rest = rest[rest.index(after: close)...]
            guard item.count >= 2, let key = item.first, item.dropFirst().first == ":" || item.dropFirst().first == "=" else {
                throw SASLError(.configuration, "AuthInfo: an item is not KEY:value")
            }
            let encoded = item.dropFirst().first == "="
            var text = String(item.dropFirst(2))
            switch (key, encoded) {
            case ("P", true):
                guard let bytes = Base64.decode(text), let decoded = Bytes.utf8String(bytes) else {
                    throw SASLError(.configuration, "AuthInfo: P= is not base64")
                }
                text = decoded
            case (_, true):
                throw SASLError(.configuration, "AuthInfo: only P takes `=` (base64)")
            case ("U", false), ("I", false), ("P", false), ("R", false), ("M", false):
                break
            default:
                throw SASLError(.configuration, "AuthInfo: unknown item \(key) (U, I, P, R and M are known)")
            }
            let name = String(key)
            guard items[name] == nil else { throw SASLError(.configuration, "AuthInfo: item \(name) appears twice") }
            items[name] = text
        }
        guard let user = items["I"] ?? items["U"], !user.isEmpty else {
            throw SASLError(.configuration, "AuthInfo: no authentication identity (I: or U:)")
        }
        guard let password = items["P"], !password.isEmpty else {
            throw SASLError(.configuration, "AuthInfo: no password (P: or P=)")
        }
        credentials = SASLClientCredentials(
            authenticationIdentity: user, password: SASLSecret(password), authorizationIdentity: items["U"],
            realm: items["R"])
        if let list = items["M"] {
            var names: [SASLMechanismName] = []
            for word in list.split(whereSeparator: { $0 == " " || $0 == "\t" }) {
                guard let name = SASLMechanismName(word) else {
                    throw SASLError(.configuration, "AuthInfo: M: names `\(word)`, which is not a mechanism name")
                }
                names.append(name)
            }
            mechanisms = names
        } else {
            mechanisms = nil
        }
    }

    public var description: String {
        "\(credentials)" + (mechanisms.map { " mechanisms \($0.map(\.rawValue).joined(separator: " "))" } ?? "")
    }
}
