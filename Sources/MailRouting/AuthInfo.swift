import SMTPProtocol

/// Credentials for another server, from the authinfo map (Sendmail's `FEATURE(authinfo)`):
/// `AuthInfo:mailserver.somedom.com "U:root" "I:user_name" "P:password"`.
///
/// The password never appears in ``description`` or in a routing trace.
public struct AuthInfo: Hashable, Sendable, CustomStringConvertible {
    /// `U:` — the authorization identity (who to act as).
    public var authorizationID: String?
    /// `I:` — the authentication identity (who logs in).
    public var authenticationID: String
    /// `P:` (or base64 `P=`) — the password.
    public var password: String
    /// `R:` — the realm.
    public var realm: String?
    /// `M:` — the mechanisms to use, upper-cased; empty for any.
    public var mechanisms: [String]

    /// Credentials as given: `authorizationID` (`U:`, or `nil`), `authenticationID` (`I:`),
    /// `password` (`P:`), `realm` (`R:`), `mechanisms` (`M:`, empty for any). Unlike
    /// ``init(parsing:)`` it checks nothing: not that the identity is non-empty, nor the mechanism
    /// names, nor that they are upper-cased.
    public init(authorizationID: String? = nil, authenticationID: String, password: String, realm: String? = nil, mechanisms: [String] = []) {
        self.authorizationID = authorizationID
        self.authenticationID = authenticationID
        self.password = password
        self.realm = realm
        self.mechanisms = mechanisms
    }

    /// Why an authinfo value could not be read; the text never holds the password.
    public struct ParseError: Error, Hashable, Sendable, CustomStringConvertible {
        /// Which item is wrong (`no P: (password)`, `U: appears twice`); never the password.
        public let description: String
    }

    /// Parses an authinfo value (what the map holds after the `AuthInfo:host` key): items in
    /// double quotes separated by white space — `U:` authorization identity, `I:` authentication
    /// identity, `P:` password (or `P=` in base64), `R:` realm, `M:` mechanisms separated by
    /// spaces. `I:` (or `U:`, which then serves as both) and `P:` are required; an item appears
    /// at most once.
    ///
    /// - Throws: ``ParseError`` saying which item is wrong, never repeating the password.
    public init(parsing value: String) throws(ParseError) {
        var items: [Character: String] = [:]
        var base64Password = false
        var rest = Substring(value)
        while true {
            rest = rest.drop { $0 == " " || $0 == "\t" }
            if rest.isEmpty { break }
            guard rest.first == "\"" else { throw ParseError(description: "an item is not in double quotes") }
            rest = rest.dropFirst()
            guard let close = rest.firstIndex(of: "\"") else { throw ParseError(description: "an item has no closing quote") }
            let item = rest[..<close]
            rest = rest[rest.index(after: close)...]
            let characters = Array(item.prefix(2))
            guard characters.count == 2, characters[1] == ":" || characters[1] == "=" else {
                throw ParseError(description: "an item is not KEY:value")
            }
            let key = Character(characters[0].uppercased())
            guard ["U", "I", "P", "R", "M"].contains(key) else { throw ParseError(description: "unknown item \(key):") }
            guard characters[1] == ":" || key == "P" else { throw ParseError(description: "only P= is base64") }
            guard items[key] == nil else { throw ParseError(description: "\(key): appears twice") }
            items[key] = String(item.dropFirst(2))
            if key == "P" { base64Password = characters[1] == "=" }
        }
        guard var password = items["P"] else { throw ParseError(description: "no P: (password)") }
        guard let identity = items["I"] ?? items["U"], !identity.isEmpty else { throw ParseError(description: "no I: or U: (identity)") }
        if base64Password {
            guard let bytes = Base64.decode(password), let text = String(validating: bytes, as: UTF8.self) else {
                throw ParseError(description: "P= is not base64 of UTF-8 text")
            }
            password = text
        }
        let mechanisms = (items["M"] ?? "").split(separator: " ").map { $0.uppercased() }
        for mechanism in mechanisms where !mechanism.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") }) {
            throw ParseError(description: "M: holds \"\(mechanism)\", not a SASL mechanism name")
        }
        self.init(authorizationID: items["U"], authenticationID: identity, password: password, realm: items["R"], mechanisms: mechanisms)
    }

    /// The credentials without the password.
    public var description: String {
        var parts = ["I:\(authenticationID)", "P:<redacted>"]
        if let authorizationID { parts.insert("U:\(authorizationID)", at: 0) }
        if let realm { parts.append("R:\(realm)") }
        if !mechanisms.isEmpty { parts.append("M:\(mechanisms.joined(separator: " "))") }
        return parts.joined(separator: " ")
    }
}
