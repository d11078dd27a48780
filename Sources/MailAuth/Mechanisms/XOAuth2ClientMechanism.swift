/// XOAUTH2 on the client, for smart hosts that take an OAuth 2.0 bearer token instead of a password
/// (Google's and Microsoft's SMTP submission; the token goes where RFC 6750 §2.1 puts it).
///
/// The initial response is `user=USER ^A auth=Bearer TOKEN ^A ^A`. A server that refuses the token
/// sends a JSON error as a challenge; the client answers it with an empty response (the server then
/// fails the exchange) and keeps the error in ``serverError``.
public struct XOAuth2ClientMechanism: SASLClientMechanism {
    public var name: SASLMechanismName { .xoauth2 }
    private let user: String
    private let token: SASLSecret
    private var started = false
    /// The JSON error the server sent (its `status`, `schemes` and `scope`), if it refused the
    /// token. It carries no credential.
    public private(set) var serverError: String?

    /// An XOAUTH2 exchange for `user` with the access `token`.
    public init(user: String, token: SASLSecret) {
        self.user = user
        self.token = token
    }

    public mutating func start() throws(SASLError) -> [UInt8]? {
        guard !started else { throw SASLError(.invalidState, "the exchange has already started", mechanism: .xoauth2) }
        started = true
        guard !user.isEmpty, !token.isEmpty, !user.utf8.contains(1), !token.bytes.contains(1) else {
            throw SASLError(.configuration, "XOAUTH2 needs a user and a token without ^A", mechanism: .xoauth2)
        }
        return Array("user=\(user)\u{1}auth=Bearer ".utf8) + token.bytes + [1, 1]
    }

    public mutating func step(_ challenge: [UInt8]) throws(SASLError) -> [UInt8] {
        guard serverError == nil else {
            throw SASLError(.malformed, "the server sent a second XOAUTH2 challenge", mechanism: .xoauth2)
        }
        serverError = String(decoding: challenge.prefix(1024), as: UTF8.self)
        return []
    }

    public mutating func finish(additionalData: [UInt8]?) throws(SASLError) {
        if serverError != nil {
            throw SASLError(.serverAuthenticationFailed, "the server refused the token but reported success", mechanism: .xoauth2)
        }
    }
}
