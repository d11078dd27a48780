/// Who is connected: what the access checks know of the client.
public struct ClientIdentity: Hashable, Sendable {
    /// The client's IP address (`206.10.252.103`, `2001:db8::1`).
    public var address: String
    /// The client's host name, when its reverse lookup was confirmed by a forward one (Sendmail's
    /// `${client_name}`); `nil` otherwise.
    public var hostName: String?
    /// The SASL mechanism the client authenticated with, if any.
    public var authenticationMechanism: String?
    /// The identity it authenticated as.
    public var authenticatedUser: String?

    public init(address: String, hostName: String? = nil, authenticationMechanism: String? = nil, authenticatedUser: String? = nil) {
        self.address = address
        self.hostName = hostName
        self.authenticationMechanism = authenticationMechanism
        self.authenticatedUser = authenticatedUser
    }
}
