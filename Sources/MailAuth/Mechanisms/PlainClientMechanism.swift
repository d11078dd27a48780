/// PLAIN on the client (RFC 4616): the initial response `authzid NUL authcid NUL passwd`.
public struct PlainClientMechanism: SASLClientMechanism {
    public var name: SASLMechanismName { .plain }
    private let credentials: SASLClientCredentials
    private var started = false

    /// A PLAIN exchange with `credentials`.
    public init(credentials: SASLClientCredentials) {
        self.credentials = credentials
    }

    public mutating func start() throws(SASLError) -> [UInt8]? {
        guard !started else { throw SASLError(.invalidState, "the exchange has already started", mechanism: .plain) }
        started = true
        let user = Array(credentials.authenticationIdentity.utf8)
        let authzid = Array((credentials.authorizationIdentity ?? "").utf8)
        guard !user.isEmpty, !user.contains(0), !authzid.contains(0), !credentials.password.isEmpty,
            !credentials.password.bytes.contains(0)
        else {
            throw SASLError(.configuration, "PLAIN needs a user name and a password without NUL", mechanism: .plain)
        }
        return authzid + [0] + user + [0] + credentials.password.bytes
    }

    public mutating func step(_ challenge: [UInt8]) throws(SASLError) -> [UInt8] {
        throw SASLError(.malformed, "the server sent a challenge after the PLAIN message", mechanism: .plain)
    }

    public mutating func finish(additionalData: [UInt8]?) throws(SASLError) {
        guard additionalData?.isEmpty ?? true else {
            throw SASLError(.malformed, "the server sent additional data with PLAIN's success", mechanism: .plain)
        }
    }
}
