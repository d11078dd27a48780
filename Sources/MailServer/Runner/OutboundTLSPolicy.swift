import SMTPClient

/// The TLS a destination gets on the way out: Postfix's `smtp_tls_security_level` levels, as one
/// entry of the `[maps] tls_policy` map gives them (`example.org  verify`,
/// `[smtp.example.net]:587  encrypt`), or the default.
///
/// - `none`: no TLS (RFC 3207 not used).
/// - `may` (the default, Sendmail's own behaviour): STARTTLS whenever the server offers it; the
///   certificate is checked and logged `verify=OK` or `verify=FAIL`, and delivery goes on either way
///   (RFC 7435).
/// - `encrypt`: TLS or no delivery; the certificate is not checked.
/// - `verify`: TLS with a certificate that verifies against the trusted CAs and names the server
///   connected to (the MX host or the smart host), or one of `match=`.
/// - `secure`: as `verify`; the certificate may also name the next-hop domain (Postfix's `nexthop`
///   match). SMTPClient always accepts the host connected to, so this is no stricter than `verify`
///   when the MX records themselves are not trusted.
/// - `dane`: RFC 7672 (TLSA records through DNSSEC), opportunistic where there are none.
///
/// Credentials from the authinfo map are never sent over a connection without TLS: a destination
/// with credentials gets at least `encrypt`, unless its entry says `auth_without_tls=yes`.
struct OutboundTLSPolicy: Hashable, Sendable, CustomStringConvertible {
    enum Level: String, Hashable, Sendable, CaseIterable {
        case none, may, encrypt, verify, secure, dane
    }

    var level: Level
    /// Other names the certificate may carry (`match=a.example:b.example`).
    var match: [String] = []
    /// Whether credentials may go over a connection without TLS.
    var authWithoutTLS = false

    static let `default` = OutboundTLSPolicy(level: .may)

    /// Parses a map value: a level, then `match=NAME:NAME` and `auth_without_tls=yes|no`.
    init(parsing value: String) throws(PolicyError) {
        let words = value.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "," }).map(String.init)
        guard let first = words.first, let level = Level(rawValue: first.lowercased()) else {
            throw PolicyError(message: "\"\(value)\" does not start with a level (none, may, encrypt, verify, secure or dane)")
        }
        self.level = level
        for word in words.dropFirst() {
            let parts = word.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2 else { throw PolicyError(message: "\"\(word)\" is not NAME=VALUE") }
            switch parts[0].lowercased() {
            case "match":
                match = parts[1].split(separator: ":").map(String.init)
            case "auth_without_tls":
                guard ["yes", "no"].contains(parts[1].lowercased()) else {
                    throw PolicyError(message: "auth_without_tls must be yes or no")
                }
                authWithoutTLS = parts[1].lowercased() == "yes"
            default:
                throw PolicyError(message: "unknown attribute \(parts[0]) (known: match, auth_without_tls)")
            }
        }
    }

    init(level: Level, match: [String] = [], authWithoutTLS: Bool = false) {
        self.level = level
        self.match = match
        self.authWithoutTLS = authWithoutTLS
    }

    struct PolicyError: Error, Hashable, Sendable, CustomStringConvertible {
        let message: String
        var description: String { message }
    }

    /// The policy with credentials to send: at least `encrypt`, unless allowed without TLS.
    func withCredentials() -> OutboundTLSPolicy {
        guard !authWithoutTLS else { return self }
        switch level {
        case .none, .may:
            var raised = self
            raised.level = .encrypt
            return raised
        case .encrypt, .verify, .secure, .dane:
            return self
        }
    }

    /// SMTPClient's policy for a destination whose next hop is `nextHop` (a domain, or a host).
    func clientPolicy(nextHop: String) -> SMTPClientTLSPolicy {
        switch level {
        case .none: .none
        case .may: .opportunistic
        case .encrypt: .required(verifying: .encryptOnly)
        case .verify: .required(verifying: .hostName(alsoAccepted: match))
        case .secure: .required(verifying: .hostName(alsoAccepted: [nextHop] + match))
        case .dane: .dane
        }
    }

    var description: String {
        var text = level.rawValue
        if !match.isEmpty { text += " match=" + match.joined(separator: ":") }
        if authWithoutTLS { text += " auth_without_tls=yes" }
        return text
    }
}
