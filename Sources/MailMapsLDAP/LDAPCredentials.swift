/// How an LDAP connection authenticates (RFC 4513): not at all, with a simple bind, or with SASL.
/// Connections bind with these before their first operation and again after each reconnect.
public enum LDAPCredentials: Sendable, CustomStringConvertible {
    /// No bind: operations run as the anonymous user (RFC 4513 §5.1.1).
    case anonymous
    /// A simple bind with a DN and password (RFC 4513 §5.1.3).
    case simple(dn: String, password: LDAPPassword)
    /// A SASL bind (RFC 4513 §5.2) through Cyrus SASL: `EXTERNAL` over `ldapi://` or TLS,
    /// `PLAIN`, `DIGEST-MD5`, `SCRAM-SHA-256`, … The names and password are given to the
    /// mechanism when it asks for them.
    case sasl(mechanism: String, authenticationID: String? = nil, authorizationID: String? = nil,
              password: LDAPPassword? = nil, realm: String? = nil)

    /// What an error message may say about the bind: the method and names, never the password.
    public var description: String {
        switch self {
        case .anonymous:
            "anonymous"
        case .simple(let dn, _):
            "simple bind as \"\(dn)\""
        case .sasl(let mechanism, let authenticationID, _, _, _):
            "SASL \(mechanism) bind" + (authenticationID.map { " as \"\($0)\"" } ?? "")
        }
    }
}
