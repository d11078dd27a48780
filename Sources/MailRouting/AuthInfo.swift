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

    public init(authorizationID: String? = nil, authenticationID: String, password: String, realm: String? = nil, mechanisms: [String] = []) {
        self.authorizationID = authorizationID
        self.authenticationID = authenticationID
        self.password = password
        self.realm = realm
        self.mechanisms = mechanisms
    }

    /// Parses an authinfo value: quoted `"X:value"` items (or unquoted ones without spaces).
    /// `nil` when there is no `I:` (or `U:`) and `P:`/`P=`.
    ///
    /// Sendmail uses `U:` as the authentication identity when `I:` is missing, and vice versa.
    public init?(parsing value: String) {
        var items: [String] = []
        var current = ""
        var quoted = false
        for character in value {
            if character == "\"" {
                if quoted { items.append(current); current = "" }
                quoted.toggle()
            } else if character == " " || character == "\t", !quoted {
                if !current.isEmpty { items.append(current); current = "" }
            } else {
                current.append(character)
            }
        }
        if !current.isEmpty { items.append(current) }
        var fields: [Character: String] = [:]
        var base64Password = false
        for item in items where item.count >= 2 {
            let key = item.first!.uppercased().first!
            let separator = item[item.index(after: item.startIndex)]
            guard separator == ":" || (key == "P" && separator == "=") else { continue }
            fields[key] = String(item.dropFirst(2))
            if key == "P" { base64Password = separator == "=" }
        }
        guard var password = fields["P"], let identity = fields["I"] ?? fields["U"] else { return nil }
        if base64Password {
            guard let decoded = Self.base64Decode(password) else { return nil }
            password = decoded
        }
        self.init(
            authorizationID: fields["U"],
            authenticationID: identity,
            password: password,
            realm: fields["R"],
            mechanisms: (fields["M"] ?? "").split(separator: " ").map { $0.uppercased() })
    }

    private static func base64Decode(_ text: String) -> String? {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
        var values: [UInt8] = []
        for byte in text.utf8 where byte != UInt8(ascii: "=") {
            guard let index = alphabet.firstIndex(of: byte) else { return nil }
            values.append(UInt8(index))
        }
        var bytes: [UInt8] = []
        var index = 0
        while index + 1 < values.count {
            bytes.append(values[index] << 2 | values[index + 1] >> 4)
            if index + 2 < values.count { bytes.append(values[index + 1] << 4 | values[index + 2] >> 2) }
            if index + 3 < values.count { bytes.append(values[index + 2] << 6 | values[index + 3]) }
            index += 4
        }
        return String(validating: bytes, as: UTF8.self)
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
